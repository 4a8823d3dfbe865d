"""Losses against numpy; gradients against finite differences (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gatys_jax import losses


def test_gram_content_style_match_numpy():
    rng = np.random.default_rng(0)
    fx, fs = rng.standard_normal((2, 5, 7, 4)).astype(np.float32)
    f2 = fx.reshape(-1, 4).T  # (N, M)
    gram_np = f2 @ f2.T
    np.testing.assert_allclose(losses.gram(jnp.asarray(fx)), gram_np, rtol=1e-5)
    np.testing.assert_allclose(losses.content_loss(fx, fs), 0.5 * np.sum((fx - fs) ** 2), rtol=1e-5)
    gs = fs.reshape(-1, 4).T @ fs.reshape(-1, 4)
    expected = np.sum((gram_np - gs) ** 2) / (4 * 4**2 * 35**2)
    np.testing.assert_allclose(losses.style_layer_loss(gram_np, gs, 35), expected, rtol=1e-5)
