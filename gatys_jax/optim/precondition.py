"""A spatial-frequency preconditioner for L-BFGS on an image.

P scales the 2-D spatial frequency f (cycles per pixel) of each colour channel by
(f + FLOOR)^-exponent, normalized to mean 1 over the frequencies, through the real FFT. It is
a circular convolution with a real, even, positive filter, so P is symmetric positive definite
and P^-1 is the same filter inverted. As L-BFGS's initial inverse Hessian (gamma P), it favours
the smooth directions over the pixel noise that a white-noise start is full of; exponent 0 is
the identity (the classic method).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from gatys_jax.optim.lbfgs import IDENTITY, Preconditioner

FLOOR = 0.02  # cycles per pixel: frequencies below this are weighted about as much as it


def frequency_weights(height: int, width: int, exponent: float) -> np.ndarray:
    """(height, width // 2 + 1) weights of the rfft2 coefficients, mean 1."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    weights = (np.hypot(fy, fx) + FLOOR) ** -exponent
    return (weights / weights.mean()).astype(np.float32)


def frequency_preconditioner(shape: tuple[int, int, int], exponent: float) -> Preconditioner:
    """P for flat vectors of images of `shape` (H, W, C); the identity for exponent 0."""
    if exponent == 0:
        return IDENTITY
    height, width = shape[0], shape[1]
    weights = frequency_weights(height, width, exponent)[..., None]

    def filtered(by: np.ndarray):
        def apply(v: jnp.ndarray) -> jnp.ndarray:
            spectrum = jnp.fft.rfft2(v.reshape(shape), axes=(0, 1)) * by
            return jnp.fft.irfft2(spectrum, s=(height, width), axes=(0, 1)).reshape(-1).astype(v.dtype)
        return apply

    return Preconditioner(filtered(weights), filtered(1.0 / weights))
