"""L-BFGS with one function evaluation per step, as pure functions on flat vectors, and its
`init`/`update` pair (wrapped as a solver in solvers.py); `init_box`/`update_box` are the
same method with x kept within bounds (L-BFGS-B's subspace step, at the end of this module).

The direction is the classic two-loop recursion (Nocedal & Wright, alg. 7.4) over the pairs
(s, y) of the last m steps, with initial Hessian scaling gamma = s'y / y'y, and the trial step
is 1, as in torch.optim.LBFGS (lr 1, no line search), what the classic style-transfer
implementations run. Pairs with s'y <= 1e-10, and rejected trials, are not stored. The first step (no history yet) moves the largest
pixel by one unit of the network input (1/max|g|) rather than torch's min(1, 1/|g|_1), which
on this objective is a step too small to give a well-measured first curvature pair.

Unlike torch's no-line-search mode, a trial that fails the Armijo condition (or whose loss is
not finite) is not taken: the next step retries the same direction with a shorter step
(quadratic interpolation, clipped to [0.1, 0.5] of the last). Every trial is one evaluation,
so this backtracking costs nothing when unit steps succeed, and it keeps the early, badly
scaled iterations from throwing the image far uphill.

An optional preconditioner P (symmetric positive definite, e.g. precondition.py's spatial
frequency filter) makes the initial inverse Hessian gamma P instead of gamma I, with gamma =
s'y / y'Py, and the first step -P g; P = I is the classic method (the default).

The recursion is done in the span of the history: with B = [S; PY] (2m, n) and the small
matrices SY = S Y^T, YPY = Y P Y^T and B g kept up to date, both loops run on m scalars and
the direction is one product gamma P g + c^T B. Each iteration reads B twice (that product,
and B [g', y, P^-1 s] after the update) instead of the 4m sequential row passes of the
textbook loop, which are slow inside XLA loops on CPU.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

CURVATURE_EPS = 1e-10
ARMIJO_C1 = 1e-4  # sufficient decrease: f(x + t d) <= f(x) + c1 t g'd


class Preconditioner(NamedTuple):
    """P and its inverse as functions of flat vectors (n,) -> (n,); P symmetric positive definite."""

    apply: Callable
    inverse: Callable


IDENTITY = Preconditioner(lambda v: v, lambda v: v)


class History(NamedTuple):
    """Pairs in a buffer of m slots: step k writes slot k % m if its pair is kept (taken, with
    s'y > eps), else leaves the slot as it is. Every image of a batch writes the same slot at
    the same step, so the buffer is updated in place even when the step is vmapped; `age`
    orders the recursion."""

    b: jnp.ndarray  # (2m, n): rows 0..m-1 are steps s_i, rows m..2m-1 are P y_i (gradient changes)
    sy: jnp.ndarray  # (m, m) sy[i, j] = s_i . y_j
    ypy: jnp.ndarray  # (m, m) ypy[i, j] = y_i . P y_j
    bg: jnp.ndarray  # (2m,) B g for the current gradient g
    age: jnp.ndarray  # (m,) int32: the step that wrote each slot, -1 while empty


def empty_history(size: int, n: int, dtype=jnp.float32) -> History:
    return History(jnp.zeros((2 * size, n), dtype), jnp.zeros((size, size), dtype),
                   jnp.zeros((size, size), dtype), jnp.zeros((2 * size,), dtype),
                   jnp.full((size,), -1, jnp.int32))


def size(history: History) -> int:
    return history.sy.shape[0]


def kept(history: History) -> jnp.ndarray:
    """(m,) bool: which slots hold a pair."""
    return history.age >= 0


def direction(grad: jnp.ndarray, history: History,
              precond: Preconditioner = IDENTITY) -> jnp.ndarray:
    """-H grad (two-loop recursion); -P grad for an empty history. `history.bg` must be B grad."""
    m = size(history)
    sg, yg = history.bg[:m], history.bg[m:]
    rho = jnp.where(kept(history), 1.0 / jnp.where(kept(history), jnp.diagonal(history.sy), 1.0),
                    0.0)  # 0 skips an empty slot
    newest_first = jnp.argsort(-history.age)

    def newer_to_older(k, alpha):
        i = newest_first[k]
        return alpha.at[i].set(rho[i] * (sg[i] - history.sy[i] @ alpha))

    alpha = jax.lax.fori_loop(0, m, newer_to_older, jnp.zeros((m,), grad.dtype))
    newest = newest_first[0]
    gamma = jnp.where(kept(history)[newest],
                      history.sy[newest, newest] / history.ypy[newest, newest], 1.0)
    y_dot_q = yg - history.ypy @ alpha  # y_i . P (g - sum_j alpha_j y_j)

    def older_to_newer(k, coef):
        i = newest_first[m - 1 - k]
        beta = rho[i] * (gamma * y_dot_q[i] + coef @ history.sy[:, i])
        return coef.at[i].set(alpha[i] - beta)

    coef = jax.lax.fori_loop(0, m, older_to_newer, jnp.zeros((m,), grad.dtype))
    r = gamma * precond.apply(grad) + jnp.concatenate([coef, -gamma * alpha]) @ history.b
    return -r


def _set_row_if(matrix: jnp.ndarray, row, value: jnp.ndarray, keep) -> jnp.ndarray:
    """matrix with `row` set to `value` if keep, as slice-select-update: XLA updates the
    (donated) matrix in place, where `.at[row].set(where(...))` copied all of it."""
    old = jax.lax.dynamic_slice_in_dim(matrix, row, 1)[0]
    return jax.lax.dynamic_update_slice_in_dim(matrix, jnp.where(keep, value, old)[None], row, 0)


def push(history: History, step, s: jnp.ndarray, y: jnp.ndarray, grad: jnp.ndarray,
         taken=True, precond: Preconditioner = IDENTITY) -> History:
    """After step `step` (s, and y the change of gradient it gave, taken or a rejected trial):
    slot step % m takes (s, y) if it was taken with s'y > eps; B g is brought up to date for
    `grad`, the gradient at the point the step leaves."""
    return push_products(history, step, s, y, grad, taken, precond)[0]


def push_products(history: History, step, s: jnp.ndarray, y: jnp.ndarray, grad: jnp.ndarray,
                  taken=True, precond: Preconditioner = IDENTITY) -> tuple[History, jnp.ndarray]:
    """`push`, and B P^-1 s (2m,) from the pass it makes over the new B: rows 0..m-1 are the
    kept steps' products s_i . P^-1 s with the new one."""
    m = size(history)
    slot = step % m
    keep = taken & (jnp.vdot(y, s) > CURVATURE_EPS)
    s, y = jnp.where(keep, s, 0.0), jnp.where(keep, y, 0.0)  # a rejected trial's may be inf
    b = _set_row_if(history.b, slot, s, keep)
    b = _set_row_if(b, m + slot, precond.apply(y), keep)
    # (2m, 3), one pass over B; rows m.. of B P^-1 s are y_j . s
    products = b @ jnp.stack([grad, y, precond.inverse(s)], axis=1)
    bg, b_y, b_s = products[:, 0], products[:, 1], products[:, 2]
    sy = history.sy.at[:, slot].set(b_y[:m]).at[slot, :].set(b_s[m:])
    ypy = history.ypy.at[:, slot].set(b_y[m:]).at[slot, :].set(b_y[m:])
    return History(b=b, sy=jnp.where(keep, sy, history.sy), ypy=jnp.where(keep, ypy, history.ypy),
                   bg=bg, age=jnp.where(keep, history.age.at[slot].set(step), history.age)), b_s


def first_step(direction: jnp.ndarray) -> jnp.ndarray:
    """Step length along `direction` that changes the largest pixel by one unit."""
    return 1.0 / jnp.maximum(jnp.max(jnp.abs(direction)), jnp.finfo(direction.dtype).tiny)


class Search(NamedTuple):
    """L-BFGS state: the history and the direction and step of a trial being retried."""

    history: History
    direction: jnp.ndarray  # (n,) direction of the last rejected trial
    step: jnp.ndarray  # step length to retry it with
    retrying: jnp.ndarray  # bool: the last trial was rejected
    rejected: jnp.ndarray  # int32: trials rejected so far (each cost an evaluation)


def empty_search(size: int, n: int, dtype=jnp.float32) -> Search:
    return Search(empty_history(size, n, dtype), jnp.zeros((n,), dtype),
                  jnp.zeros((), dtype), jnp.zeros((), bool), jnp.zeros((), jnp.int32))


def trial(grad: jnp.ndarray, fresh: jnp.ndarray, steepest: jnp.ndarray, search: Search,
          lr: float) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(direction, length) to evaluate next: the quasi-Newton direction `fresh`, or the rejected
    one again with its shortened length. A fresh direction that is not a descent direction is
    replaced by `steepest` (-P grad, the free part of -grad under bounds) with the first
    step's length."""
    descent = jnp.vdot(grad, fresh) < 0
    first = ~kept(search.history).any() | ~descent
    fresh = jnp.where(descent, fresh, steepest)
    fresh_step = lr * jnp.where(first, first_step(fresh), 1.0)
    return (jnp.where(search.retrying, search.direction, fresh),
            jnp.where(search.retrying, search.step, fresh_step))


def accept(loss: jnp.ndarray, slope: jnp.ndarray, step: jnp.ndarray,
           trial_loss: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(whether the trial is taken, step for a retry) by Armijo and quadratic interpolation.

    slope: g'd at the current point (< 0). Near a minimum, where f changes by less than its
    own rounding error, the sufficient-decrease test allows that error rather than stall."""
    finite = jnp.isfinite(trial_loss)
    rounding = 8 * jnp.finfo(trial_loss.dtype).eps * jnp.abs(loss)  # f is only this exact
    taken = finite & (trial_loss <= loss + ARMIJO_C1 * step * slope + rounding)
    curvature = trial_loss - loss - slope * step
    interpolated = -slope * step * step / (2.0 * jnp.where(curvature > 0, curvature, 1.0))
    retry = jnp.where(finite & (curvature > 0), jnp.clip(interpolated, 0.1 * step, 0.5 * step),
                      0.1 * step)
    return taken, retry


def init(x: jnp.ndarray, history_size: int) -> Search:
    """The state before the first step, for an iterate shaped like x."""
    return empty_search(history_size, x.size, x.dtype)


def update(x: jnp.ndarray, value: jnp.ndarray, grad: jnp.ndarray, search: Search,
           value_and_grad: Callable, step, lr: float = 1.0,
           precond: Preconditioner = IDENTITY) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, Search]:
    """Step `step` (the number of steps so far) from x, with its loss and gradient: one
    evaluation at the trial point. Returns (x, value, grad) at the trial if it is taken, else
    unchanged, and the new state."""
    flat_grad = grad.reshape(-1)
    direction_, length = trial(flat_grad, direction(flat_grad, search.history, precond),
                               -precond.apply(flat_grad), search, lr)
    move = length * direction_
    x_trial = x + move.reshape(x.shape)
    value_trial, grad_trial = value_and_grad(x_trial)
    taken, retry = accept(value, jnp.vdot(flat_grad, direction_), length, value_trial)
    pick = lambda new, old: jnp.where(taken, new, old)
    x, value, grad_new = pick(x_trial, x), pick(value_trial, value), pick(grad_trial, grad)
    history = push(search.history, step, move, (grad_trial - grad).reshape(-1),
                   grad_new.reshape(-1), taken, precond)
    return x, value, grad_new, Search(history, direction_, retry, ~taken,
                                      search.rejected + (~taken).astype(jnp.int32))


class BoxSearch(NamedTuple):
    """L-BFGS-B state: the L-BFGS state and the steps' inner products, which the compact form
    of the Hessian approximation needs besides SY."""

    search: Search
    ss: jnp.ndarray  # (m, m) ss[i, j] = s_i . s_j


def init_box(x: jnp.ndarray, history_size: int) -> BoxSearch:
    """The L-BFGS-B state before the first step, for an iterate shaped like x."""
    return BoxSearch(init(x, history_size), jnp.zeros((history_size, history_size), x.dtype))


def free_variables(x: jnp.ndarray, grad: jnp.ndarray, lower: jnp.ndarray,
                   upper: jnp.ndarray, unit: jnp.ndarray) -> jnp.ndarray:
    """(n,) 1.0 for the variables that move, 0.0 for those held: within eps of a bound with
    the gradient pushing them out of the box (Bertsekas's eps-active set), where eps is the
    smaller of `unit` and the size of the projected gradient step |x - clip(x - grad)|, so
    that near a solution only the variables at their bounds are held."""
    eps = jnp.minimum(unit, jnp.linalg.norm(x - jnp.clip(x - grad, lower, upper)))
    held = ((x - lower <= eps) & (grad > 0)) | ((upper - x <= eps) & (grad < 0))
    return jnp.where(held, 0.0, 1.0).astype(x.dtype)


def box_direction(grad: jnp.ndarray, free: jnp.ndarray, history: History,
                  ss: jnp.ndarray) -> jnp.ndarray:
    """-(Z'BZ)^-1 Z'grad: the quasi-Newton step in the free variables (`free` 1.0) with the
    held ones fixed, the subspace step of L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995). B is the
    L-BFGS Hessian approximation in compact form (Byrd, Nocedal & Schnabel 1994),
    B = theta I - W M W' with W = [Y, theta S] and M^-1 = [[-D, L'], [L, theta S'S]], and its
    free block is inverted by Sherman-Morrison-Woodbury on a (2m, 2m) system. With every
    variable free this is the two-loop direction -H grad. The history must be unpreconditioned."""
    m = size(history)
    keep = kept(history)
    newest = jnp.argmax(history.age)
    theta = jnp.where(keep[newest], history.ypy[newest, newest]
                      / jnp.where(keep[newest], history.sy[newest, newest], 1.0), 1.0)
    both = keep[:, None] & keep[None, :]
    newer = history.age[:, None] > history.age[None, :]  # [i, j]: pair i came after pair j
    lower_sy = jnp.where(newer & both, history.sy, 0.0)  # L[i, j] = s_i . y_j, i newer than j
    diagonal = jnp.diag(jnp.where(keep, jnp.diagonal(history.sy), 0.0))
    m_inverse = jnp.block([[-diagonal, lower_sy.T], [lower_sy, theta * ss]])
    masked = history.b * free  # (2m, n): the free parts of the rows s_i and y_i
    gram = masked @ history.b.T  # [[S_f S', S_f Y'], [Y_f S', Y_f Y']]
    w_gram = jnp.block([[gram[m:, m:], theta * gram[m:, :m]],
                        [theta * gram[:m, m:], theta ** 2 * gram[:m, :m]]])  # W_f' W_f
    keep2 = jnp.concatenate([keep, keep])
    system = jnp.where(keep2[:, None] & keep2[None, :], m_inverse - w_gram / theta,
                       jnp.eye(2 * m, dtype=grad.dtype))  # an empty slot's unknown is 0
    masked_grad = masked @ grad  # [S g_f; Y g_f]
    rhs = jnp.where(keep2, jnp.concatenate([masked_grad[m:], theta * masked_grad[:m]]), 0.0)
    u = jnp.linalg.solve(system, rhs)
    w_u = jnp.concatenate([theta * u[m:], u[:m]]) @ history.b  # W u = Y' u_1 + theta S' u_2
    return -free * (grad / theta + w_u / theta ** 2)


def update_box(x: jnp.ndarray, value: jnp.ndarray, grad: jnp.ndarray, state: BoxSearch,
               value_and_grad: Callable, step, lower: jnp.ndarray, upper: jnp.ndarray,
               unit: jnp.ndarray, lr: float = 1.0
               ) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, BoxSearch]:
    """`update` within the box lower <= x <= upper (arrays that broadcast to x; x must start
    inside it), with `unit` the largest eps of `free_variables` (broadcasts to x): the
    subspace direction of the free variables, cut where it leaves the box at a bound, and a
    trial at the projection of x + t d onto the box with the held variables at their bounds,
    judged by Armijo on the move it made. One evaluation per step, as `update`."""
    search = state.search
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    lower, upper, unit = (jnp.broadcast_to(v, x.shape).reshape(-1) for v in (lower, upper, unit))
    free = free_variables(flat_x, flat_grad, lower, upper, unit)
    fresh = box_direction(flat_grad, free, search.history, state.ss)
    # at a bound, a component pointing out of the box would only be clipped away
    outward = ((flat_x <= lower) & (fresh < 0)) | ((flat_x >= upper) & (fresh > 0))
    fresh = jnp.where(outward, 0.0, fresh)
    direction_, length = trial(flat_grad, fresh, -free * flat_grad, search, lr)
    # a held variable goes to the bound its gradient pushes it to: at most eps away, downhill
    x_trial = jnp.where(free > 0, jnp.clip(flat_x + length * direction_, lower, upper),
                        jnp.where(flat_grad > 0, lower, upper))
    move = x_trial - flat_x
    value_trial, grad_trial = value_and_grad(x_trial.reshape(x.shape))
    taken, retry = accept(value, jnp.vdot(flat_grad, move) / length, length, value_trial)
    pick = lambda new, old: jnp.where(taken, new, old)
    x_new = pick(x_trial.reshape(x.shape), x)
    value, grad_new = pick(value_trial, value), pick(grad_trial, grad)
    history, step_products = push_products(search.history, step, move,
                                           (grad_trial - grad).reshape(-1),
                                           grad_new.reshape(-1), taken)
    slot = step % size(history)
    written = history.age[slot] == step
    s_s = step_products[:size(history)]
    ss = jnp.where(written, state.ss.at[:, slot].set(s_s).at[slot, :].set(s_s), state.ss)
    search = Search(history, direction_, retry, ~taken,
                    search.rejected + (~taken).astype(jnp.int32))
    return x_new, value, grad_new, BoxSearch(search, ss)
