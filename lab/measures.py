"""Measures of pictures alone, RGB (H, W, 3) in 0..255: how grainy one is, how far two are
apart, and the names of the scales gatys_jax.quality measures."""

from __future__ import annotations

import numpy as np

from gatys_jax import quality
from gatys_jax.io.images import to_uint8

# the scale of a picture's structures (quality.scale_measures, px each), and short names
SCALE_MEASURES = {"autocorrelation_length_px": "acl", "spectral_wavelength_px": "wavelength"}


def grain(image: np.ndarray) -> dict:
    """How grainy a picture is as an 8-bit file holds it: its speckle (quality.speckle, grey
    levels) and the fraction of its colour channels at 0 or 255 (where an unbounded
    optimizer's pixels were clipped)."""
    pixels = to_uint8(image)
    return {"speckle": quality.speckle(pixels),
            "clipped": float(np.mean((pixels == 0) | (pixels == 255)))}


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |a - b| over pixels and channels, in grey levels."""
    return float(np.mean(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32))))
