"""Image measurements for judging results.

The yardstick of a stylized image x against its content image c and style image s, on the
run's network un-normalized (the plain Caffe VGG19 with the default weights, whether or not
the run optimized the normalized one):

- style distance: sum over conv1_1 ... conv5_1 of |G(x) - G(s)|^2 / |G(s)|^2, with Gram
  matrices per position (F F^T / M); s resized to x's size;
- content distance: |F(x) - F(c)|^2 / |F(c)|^2 at conv4_2;
- speckle: the mean absolute Laplacian (4 neighbours) of the luminance in 0..255: pixel
  noise that the network barely sees.

Each is reported beside the content's and the style's own values: the photograph's style
distance says how far it starts from the painting, its speckle how grainy it is.

Also fidelity to a reference (PSNR, SSIM, coarse layout) and the spatial scale of an image's
structures (autocorrelation length, spectral wavelength). Images are RGB arrays (H, W, 3) in
0..255 (uint8 or float).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.io.images import resize
from gatys_jax.model.convention import to_network
from gatys_jax.model.layers import LAYERS
from gatys_jax.model.vgg import VGG19, variables
from gatys_jax.weights.h5 import VGGWeights

LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601
# the yardstick's own layers, fixed whatever layers a run optimizes
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_LAYER = "conv4_2"


def plain_params(vgg: VGGWeights) -> dict:
    """The network before normalization: each layer's kernel and bias multiplied back by the
    mean activation of its output (and divided by its input's), so that the yardstick means
    the same whichever file a run used."""
    if vgg.normalization is None:
        return vgg.params
    params, previous = {}, np.ones(3)
    for layer in LAYERS:
        scale = np.asarray(vgg.normalization[layer], np.float64)
        params[layer] = {
            "kernel": (np.asarray(vgg.params[layer]["kernel"], np.float64) * scale
                       / previous[:, None]).astype(np.float32),
            "bias": (np.asarray(vgg.params[layer]["bias"], np.float64) * scale).astype(np.float32)}
        previous = scale
    return params


def _statistics(params, x):
    """Gram matrices per position (style layers) and conv4_2 features of one image x."""
    feats = VGG19().apply(variables(params), x[None], STYLE_LAYERS + (CONTENT_LAYER,))
    grams = []
    for layer in STYLE_LAYERS:
        f = feats[layer][0].reshape(-1, feats[layer].shape[-1])
        grams.append(f.T @ f / f.shape[0])
    return grams, feats[CONTENT_LAYER][0]


_statistics_jit = jax.jit(_statistics)


def _distances(params, x, style_grams, content_features):
    grams, features = _statistics(params, x)
    style = sum(jnp.sum((g - t) ** 2) / jnp.sum(t ** 2) for g, t in zip(grams, style_grams))
    content = jnp.sum((features - content_features) ** 2) / jnp.sum(content_features ** 2)
    return style, content


_distances_jit = jax.jit(_distances)


def speckle(image: np.ndarray) -> float:
    """Mean |Laplacian| (4 neighbours) of the luminance, 0..255, over interior pixels."""
    g = luminance(image).astype(np.float64)
    laplacian = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(np.mean(np.abs(laplacian)))


@dataclasses.dataclass
class Yardstick:
    """Scores images of one size against a content image and a style: one style image, or
    several whose Gram matrices mix by `blend` weights."""

    vgg: VGGWeights
    content: np.ndarray  # RGB (H, W, 3)
    styles: list  # RGB images, any size: each resized to the content's
    blend: tuple[float, ...] | None = None  # summing to 1; None: one style

    def __post_init__(self):
        self.params = jax.device_put(plain_params(self.vgg))
        shape = self.content.shape[:2]
        self.styles = [resize(np.asarray(style, np.float32), *shape) for style in self.styles]
        per_style = [_statistics_jit(self.params, self._x(style))[0] for style in self.styles]
        blend = self.blend or (1.0,)
        self.style_grams = [sum(w * grams[i] for w, grams in zip(blend, per_style))
                            for i in range(len(STYLE_LAYERS))]
        _, self.content_features = _statistics_jit(self.params, self._x(self.content))

    def _x(self, rgb: np.ndarray) -> np.ndarray:
        return to_network(np.asarray(rgb, np.float32), self.vgg.convention)

    def __call__(self, image: np.ndarray) -> dict:
        """{style_distance, content_distance, speckle} of an image of the content's size."""
        if image.shape[:2] != self.content.shape[:2]:
            image = resize(np.asarray(image, np.float32), *self.content.shape[:2])
        style, content = _distances_jit(self.params, self._x(image), self.style_grams,
                                        self.content_features)
        return {"style_distance": float(style), "content_distance": float(content),
                "speckle": speckle(image)}

    def references(self) -> dict:
        """The yardstick of the content image and of the (resized) style image themselves
        (the first style image of a blend)."""
        return {"content_image": self(self.content), "style_image": self(self.styles[0])}


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W) luminance in 0..255."""
    return np.asarray(image, np.float32) @ LUMA


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (peak 255)."""
    from skimage.metrics import peak_signal_noise_ratio
    return float(peak_signal_noise_ratio(np.asarray(reference, np.float32),
                                         np.asarray(image, np.float32), data_range=255.0))


def ssim(image: np.ndarray, reference: np.ndarray) -> float:
    """SSIM over RGB (channel axis last), 0..255 range; the window shrinks for tiny images."""
    from skimage.metrics import structural_similarity
    win = min(7, *[s if s % 2 else s - 1 for s in image.shape[:2]])
    return float(structural_similarity(np.asarray(reference, np.float32),
                                       np.asarray(image, np.float32), data_range=255.0,
                                       channel_axis=-1, win_size=max(3, win)))


def layout_correlation(image: np.ndarray, reference: np.ndarray, sigma: float) -> float:
    """Pearson correlation of the luminances after a Gaussian blur of `sigma` px: how well the
    coarse arrangement (where light and dark regions are) is kept, whatever the fine detail."""
    from scipy.ndimage import gaussian_filter
    a = gaussian_filter(luminance(image).astype(np.float64), sigma).ravel()
    b = gaussian_filter(luminance(reference).astype(np.float64), sigma).ravel()
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / denominator) if denominator > 0 else 0.0


def layout_difference(image: np.ndarray, reference: np.ndarray, sigma: float) -> float:
    """Mean absolute difference (0..255 levels, over pixels and RGB channels) after a Gaussian
    blur of `sigma` px per channel: how far apart two pictures are in their coarse colours
    and arrangement, whatever their pixel-scale grain."""
    from scipy.ndimage import gaussian_filter
    blur = (sigma, sigma, 0)
    a = gaussian_filter(np.asarray(image, np.float64), blur)
    b = gaussian_filter(np.asarray(reference, np.float64), blur)
    return float(np.mean(np.abs(a - b)))


def autocorrelation_length(image: np.ndarray) -> float:
    """Radius (px) at which the radially averaged autocorrelation of the zero-mean luminance
    first falls below 1/e (unbiased: each lag divided by its number of overlapping pixels);
    linear interpolation between integer radii. Larger = larger structures."""
    g = luminance(image).astype(np.float64)
    g -= g.mean()
    h, w = g.shape
    shape = (2 * h, 2 * w)
    power = np.abs(np.fft.rfft2(g, shape)) ** 2
    ac = np.fft.irfft2(power, shape)
    overlap = np.fft.irfft2(np.abs(np.fft.rfft2(np.ones_like(g), shape)) ** 2, shape)
    ac = ac / np.maximum(np.round(overlap), 1.0)
    ac /= ac[0, 0] if ac[0, 0] > 0 else 1.0
    dy = np.minimum(np.arange(shape[0]), shape[0] - np.arange(shape[0]))[:, None]
    dx = np.minimum(np.arange(shape[1]), shape[1] - np.arange(shape[1]))[None, :]
    radius = np.sqrt(dy ** 2 + dx ** 2)
    max_radius = min(h, w) // 2
    bins = np.round(radius).astype(int)
    keep = bins <= max_radius
    profile = (np.bincount(bins[keep], ac[keep], max_radius + 1)
               / np.maximum(np.bincount(bins[keep], None, max_radius + 1), 1))
    below = np.nonzero(profile < 1.0 / math.e)[0]
    if len(below) == 0:
        return float(max_radius)
    r = int(below[0])
    if r == 0:
        return 0.0
    a, b = profile[r - 1], profile[r]
    return float(r - 1 + (a - 1.0 / math.e) / (a - b))


def spectral_wavelength(image: np.ndarray) -> float:
    """1 / (power-weighted mean spatial frequency) in px, from the Hann-windowed zero-mean
    luminance's power spectrum (DC excluded, frequencies up to 0.5 cycles/px). Larger = more
    power in coarse structures."""
    g = luminance(image).astype(np.float64)
    g -= g.mean()
    h, w = g.shape
    g *= np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(g)) ** 2
    f = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2)
    keep = (f > 0) & (f <= 0.5)
    mean_f = float((f[keep] * power[keep]).sum() / max(power[keep].sum(), 1e-30))
    return 1.0 / mean_f if mean_f > 0 else float("inf")


def scale_measures(image: np.ndarray) -> dict:
    return {"autocorrelation_length_px": autocorrelation_length(image),
            "spectral_wavelength_px": spectral_wavelength(image)}
