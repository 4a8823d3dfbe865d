"""The paper's loss terms as pure functions (Gatys et al. 2016, eqs. 1-7).

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
