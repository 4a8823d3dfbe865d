"""The paper's loss terms as pure functions (Gatys et al. 2016, eqs. 1-7), and a total
variation prior.

Features F^l of one image are arrays (H_l, W_l, N_l); M_l = H_l * W_l. Gram matrices and
losses are computed in at least float32, whatever the features' precision.
"""

from __future__ import annotations

import jax.numpy as jnp


def gram(features: jnp.ndarray) -> jnp.ndarray:
    """G = F F^T for F (N_l, M_l): (H, W, N) -> (N, N), unnormalized."""
    f = features.reshape(-1, features.shape[-1])
    f = f.astype(jnp.promote_types(f.dtype, jnp.float32))
    return f.T @ f


def content_loss(features_x: jnp.ndarray, features_c: jnp.ndarray) -> jnp.ndarray:
    """1/2 sum (F_x - F_c)^2 (eq. 1)."""
    dtype = jnp.promote_types(jnp.result_type(features_x, features_c), jnp.float32)
    diff = features_x.astype(dtype) - features_c.astype(dtype)
    return 0.5 * jnp.sum(diff * diff)


def style_layer_loss(gram_x: jnp.ndarray, gram_s: jnp.ndarray, num_positions: int) -> jnp.ndarray:
    """E_l = 1/(4 N_l^2 M_l^2) sum (G_x - G_s)^2 (eq. 4); N_l = gram size, M_l = positions."""
    n = gram_x.shape[0]
    diff = gram_x - gram_s
    return jnp.sum(diff * diff) / (4.0 * n * n * float(num_positions) ** 2)


def position_grams(features: jnp.ndarray, masks: jnp.ndarray | None = None) -> jnp.ndarray:
    """Gram matrices per position: (H, W, N) -> G / M (N, N); with region weights masks
    (R, H, W), the guided Gram matrices (F m_r)(F m_r)^T / sum m_r^2, (R, N, N). Per position,
    an image's Gram matrix does not depend on its size, so a style image of any size (or any
    region) gives a target."""
    if masks is None:
        return gram(features) / (features.shape[0] * features.shape[1])
    f = features.reshape(-1, features.shape[-1])
    f = f.astype(jnp.promote_types(f.dtype, jnp.float32))
    m = masks.reshape(masks.shape[0], -1, 1).astype(f.dtype)
    weighted = m * f[None]
    grams = jnp.einsum("rmn,rmk->rnk", weighted, weighted)
    return grams / jnp.maximum(jnp.sum(m * m, axis=(1, 2)), 1.0)[:, None, None]


def gram_distance(grams_x: jnp.ndarray, grams_s: jnp.ndarray) -> jnp.ndarray:
    """E_l from Gram matrices per position: sum (G_x/M - G_s/M)^2 / (4 N_l^2), which is eq. 4
    for one region; guided Gram matrices (R, N, N) sum their regions' terms."""
    n = grams_x.shape[-1]
    diff = grams_x - grams_s
    return jnp.sum(diff * diff) / (4.0 * n * n)


def total_variation(x: jnp.ndarray) -> jnp.ndarray:
    """1/2 sum of squared differences between neighbouring pixels (H, W, C), per channel: a
    smoothness prior whose gradient is the negative Laplacian, against pixel noise."""
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    dy, dx = x[1:] - x[:-1], x[:, 1:] - x[:, :-1]
    return 0.5 * (jnp.sum(dy * dy) + jnp.sum(dx * dx))
