"""Image measurements for judging results: fidelity to a reference (PSNR, SSIM, coarse layout)
and the spatial scale of an image's structures (autocorrelation length, spectral wavelength).

Images are RGB arrays (H, W, 3) in 0..255 (uint8 or float).
"""

from __future__ import annotations

import math

import numpy as np

LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601


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
