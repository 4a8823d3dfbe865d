"""The spatial-frequency preconditioner: a symmetric positive definite filter and its inverse,
checked against a dense matrix built with numpy's FFT."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gatys_jax.optim import lbfgs
from gatys_jax.optim.precondition import FLOOR, frequency_preconditioner, frequency_weights

SHAPE = (6, 5, 3)  # odd width: the real FFT's last axis is not symmetric in length


def dense(shape, exponent) -> np.ndarray:
    """P as an (n, n) matrix: per channel, multiply the full 2-D spectrum by (|f| + FLOOR)^-e
    (normalized over the rfft2 half-plane, as the module documents)."""
    h, w, c = shape
    f = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    half = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :])
    weights = (f + FLOOR) ** -exponent / ((half + FLOOR) ** -exponent).mean()
    n = h * w * c
    columns = []
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        image = e.reshape(shape)
        out = np.real(np.fft.ifft2(np.fft.fft2(image, axes=(0, 1)) * weights[..., None], axes=(0, 1)))
        columns.append(out.reshape(-1))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("exponent", [0.5, 1.0])
def test_matches_a_dense_symmetric_positive_definite_matrix(exponent):
    with jax.enable_x64(True):
        p = frequency_preconditioner(SHAPE, exponent)
        n = int(np.prod(SHAPE))
        apply = jax.jit(p.apply)
        inverse = jax.jit(p.inverse)
        matrix = np.stack([np.asarray(apply(jnp.eye(n, dtype=jnp.float64)[k])) for k in range(n)], 1)
        inverse_matrix = np.stack(
            [np.asarray(inverse(jnp.eye(n, dtype=jnp.float64)[k])) for k in range(n)], 1)
    reference = dense(SHAPE, exponent)
    # float32 weights: the filter is exact to float32 precision
    np.testing.assert_allclose(matrix, reference, atol=1e-6 * np.abs(reference).max())
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-6 * np.abs(matrix).max())
    assert np.linalg.eigvalsh(0.5 * (matrix + matrix.T)).min() > 0
    np.testing.assert_allclose(inverse_matrix @ matrix, np.eye(n), atol=1e-5)


def test_favours_smooth_directions_and_keeps_dtype():
    weights = frequency_weights(8, 8, 0.5)
    assert weights.shape == (8, 5)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[0, 0] == weights.max() and weights[4, 4] == weights.min()
    p = frequency_preconditioner((8, 8, 3), 0.5)
    # a constant image is the zero frequency, a checkerboard the highest: each is scaled by its weight
    constant = jnp.ones(8 * 8 * 3, jnp.float32)
    checker = jnp.asarray(np.broadcast_to(
        ((-1.0) ** np.add.outer(np.arange(8), np.arange(8)))[..., None], (8, 8, 3)).reshape(-1),
        jnp.float32)
    np.testing.assert_allclose(p.apply(constant), weights[0, 0] * constant, rtol=1e-5)
    np.testing.assert_allclose(p.apply(checker), weights[4, 4] * checker, rtol=1e-5)
    np.testing.assert_allclose(p.inverse(checker), checker / weights[4, 4], rtol=1e-5)
    assert p.apply(constant).dtype == jnp.float32


def test_exponent_zero_is_the_identity():
    assert frequency_preconditioner(SHAPE, 0.0) is lbfgs.IDENTITY
