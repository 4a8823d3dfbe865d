"""Keeping the content's colours (Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color
in Neural Artistic Style Transfer"): two ways, before and after the optimization.

- luminance: the transfer runs on luminance alone (content and style as grey images, the
  style's luminance matched to the content's mean and standard deviation); the result's
  luminance is then put under the content's chroma (YIQ).
- histogram: the style image's colours are mapped onto the content's by the linear transform
  that gives them the content's RGB mean and covariance (x' = A (x - mu_s) + mu_c with
  A = Sigma_c^(1/2) Sigma_s^(-1/2)); the transfer then runs as usual.

Images are float RGB (H, W, 3) in 0..255.
"""

from __future__ import annotations

import numpy as np
from skimage import color


def _yiq(image: np.ndarray) -> np.ndarray:
    return color.rgb2yiq(np.asarray(image, np.float64) / 255.0)


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W) luminance Y of YIQ, 0..255."""
    return _yiq(image)[..., 0] * 255.0


def grey(y: np.ndarray) -> np.ndarray:
    """A luminance (H, W) as a grey RGB image (H, W, 3)."""
    return np.repeat(np.asarray(y, np.float32)[..., None], 3, axis=-1)


def luminance_inputs(content: np.ndarray, style: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(content, style) as grey images, the style's luminance matched to the content's mean
    and standard deviation."""
    yc, ys = luminance(content), luminance(style)
    ys = (ys - ys.mean()) / max(ys.std(), 1e-6) * yc.std() + yc.mean()
    return grey(yc), grey(np.clip(ys, 0, 255))


def with_chroma(result: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The result's luminance under the content's chroma (I, Q of YIQ), the luminance held
    where that chroma stays inside 0..255, so that rounding alone changes the chroma."""
    yiq = _yiq(content)
    yiq[..., 0] = luminance(result) / 255.0
    to_rgb = np.linalg.inv(color.colorconv.yiq_from_rgb)  # rgb = to_rgb @ yiq, Y column all 1
    chroma = yiq[..., 1:] @ to_rgb[:, 1:].T  # each RGB channel's I, Q part: rgb = Y + chroma
    low = np.max(-chroma, axis=-1)
    high = np.min(1.0 - chroma, axis=-1)
    yiq[..., 0] = np.clip(yiq[..., 0], low, np.maximum(low, high))
    return (np.clip(yiq @ to_rgb.T, 0.0, 1.0) * 255.0).astype(np.float32)


def _sqrt_and_inverse(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 1e-8)
    return ((vectors * np.sqrt(values)) @ vectors.T,
            (vectors / np.sqrt(values)) @ vectors.T)


def match_histogram(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The style image with the content's RGB mean and covariance, clipped to 0..255 like
    any image (a style that is resized is clipped there anyway; clipping here keeps the
    target the same whether or not a resize happens)."""
    s = np.asarray(style, np.float64).reshape(-1, 3)
    c = np.asarray(content, np.float64).reshape(-1, 3)
    root_c, _ = _sqrt_and_inverse(np.cov(c, rowvar=False))
    _, inverse_root_s = _sqrt_and_inverse(np.cov(s, rowvar=False))
    matched = (s - s.mean(0)) @ (root_c @ inverse_root_s).T + c.mean(0)
    return np.clip(matched, 0, 255).reshape(np.shape(style)).astype(np.float32)


def chroma_distance(image: np.ndarray, reference: np.ndarray) -> float:
    """Mean distance in the (a*, b*) plane of CIELAB between two images of one size."""
    a = color.rgb2lab(np.clip(np.asarray(image, np.float64) / 255.0, 0, 1))[..., 1:]
    b = color.rgb2lab(np.clip(np.asarray(reference, np.float64) / 255.0, 0, 1))[..., 1:]
    return float(np.mean(np.linalg.norm(a - b, axis=-1)))
