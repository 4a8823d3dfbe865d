"""L-BFGS with one function evaluation per iteration, as pure functions on flat vectors.

The direction is the classic two-loop recursion (Nocedal & Wright, alg. 7.4) over a circular
history of the last `history` pairs (s, y), with initial Hessian scaling gamma = s'y / y'y.
The step is 1, except the first, which is min(1, 1/|g|_1) as in torch.optim.LBFGS. Pairs with
s'y <= 1e-10 (no positive curvature) are not stored. This is what the classic style-transfer
implementations run (torch.optim.LBFGS, lr 1, no line search).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

CURVATURE_EPS = 1e-10


class History(NamedTuple):
    s: jnp.ndarray  # (m, n) steps x_{k+1} - x_k
    y: jnp.ndarray  # (m, n) gradient changes g_{k+1} - g_k
    rho: jnp.ndarray  # (m,) 1 / y's
    head: jnp.ndarray  # int: slot the next pair goes to
    count: jnp.ndarray  # int: number of valid pairs (<= m)


def empty_history(size: int, n: int, dtype=jnp.float32) -> History:
    return History(jnp.zeros((size, n), dtype), jnp.zeros((size, n), dtype),
                   jnp.zeros((size,), dtype), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def direction(grad: jnp.ndarray, history: History) -> jnp.ndarray:
    """-H grad by the two-loop recursion; -grad when the history is empty."""
    m = history.s.shape[0]

    def newest_first(j, carry):
        q, alphas = carry
        i = (history.head - 1 - j) % m
        valid = j < history.count
        alpha = jnp.where(valid, history.rho[i] * jnp.vdot(history.s[i], q), 0.0)
        return q - alpha * history.y[i], alphas.at[i].set(alpha)

    q, alphas = jax.lax.fori_loop(0, m, newest_first, (grad, jnp.zeros((m,), grad.dtype)))
    newest = (history.head - 1) % m
    y_newest = history.y[newest]
    gamma = jnp.where(history.count > 0,
                      1.0 / (history.rho[newest] * jnp.vdot(y_newest, y_newest)), 1.0)
    r = gamma * q

    def oldest_first(j, r):
        i = (history.head - history.count + j) % m
        valid = j < history.count
        beta = history.rho[i] * jnp.vdot(history.y[i], r)
        return jnp.where(valid, r + history.s[i] * (alphas[i] - beta), r)

    return -jax.lax.fori_loop(0, m, oldest_first, r)


def push(history: History, s: jnp.ndarray, y: jnp.ndarray) -> History:
    """Store (s, y) in the oldest slot if s'y > eps; otherwise leave the history unchanged."""
    ys = jnp.vdot(y, s)
    keep = ys > CURVATURE_EPS
    slot = history.head
    m = history.s.shape[0]
    # Rewrite one row either way (an in-place update); advance only when the pair is kept.
    return History(
        s=history.s.at[slot].set(jnp.where(keep, s, history.s[slot])),
        y=history.y.at[slot].set(jnp.where(keep, y, history.y[slot])),
        rho=history.rho.at[slot].set(jnp.where(keep, 1.0 / jnp.where(keep, ys, 1.0),
                                               history.rho[slot])),
        head=jnp.where(keep, (slot + 1) % m, slot),
        count=jnp.where(keep, jnp.minimum(history.count + 1, m), history.count),
    )


def step_length(grad: jnp.ndarray, iteration: jnp.ndarray) -> jnp.ndarray:
    """1, except min(1, 1/|g|_1) on the first iteration (the gradient is unscaled then)."""
    return jnp.where(iteration == 0, jnp.minimum(1.0, 1.0 / jnp.sum(jnp.abs(grad))), 1.0)
