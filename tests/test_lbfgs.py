"""The project's L-BFGS (unit steps, no line search) against scipy's L-BFGS-B and a direct numpy
two-loop recursion; its update takes one evaluation per step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from gatys_jax.optim import lbfgs


def minimize(f, x0, history: int, max_iterations: int, gtol: float, dtype=jnp.float64):
    """Drive lbfgs.init / update as the solver does (one evaluation per iteration, rejected
    trials included). Returns (x, f(x), iterations)."""
    value_and_grad = jax.value_and_grad(f)
    step = jax.jit(lambda x, value, grad, search, k: lbfgs.update(x, value, grad, search,
                                                                  value_and_grad, k))
    x = jnp.asarray(x0, dtype)
    value, grad = jax.jit(value_and_grad)(x)
    search = lbfgs.init(x, history)
    for iteration in range(max_iterations):
        if float(jnp.linalg.norm(grad)) <= gtol:
            return np.asarray(x, np.float64), float(value), iteration
        x, value, grad, search = step(x, value, grad, search, iteration)
    return np.asarray(x, np.float64), float(value), max_iterations


def scipy_minimum(f, x0):
    f64 = jax.jit(jax.value_and_grad(f))
    result = scipy.optimize.minimize(
        lambda x: tuple(np.asarray(v, np.float64) for v in f64(jnp.asarray(x, jnp.float64))),
        np.asarray(x0, np.float64), jac=True, method="L-BFGS-B",
        options=dict(maxiter=10_000, ftol=1e-15, gtol=1e-10))
    assert result.success, result.message
    return result.x, float(result.fun)


def quadratic(n=20, condition=100.0, seed=0):
    """f(x) = 1/2 x'Ax - b'x with A SPD of the given condition number; (f, exact minimizer)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.logspace(0, np.log10(condition), n)) @ q.T
    b = rng.standard_normal(n) * 10
    a_j, b_j = jnp.asarray(a), jnp.asarray(b)
    return (lambda x: 0.5 * x @ (a_j.astype(x.dtype) @ x) - b_j.astype(x.dtype) @ x,
            np.linalg.solve(a, b))


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.parametrize("history, gtol, max_iterations, atol", [
    (100, 1e-9, 100, 1e-9),  # measured: 41 iterations
    (10, 1e-6, 300, 1e-6),  # a short history converges slowly at the end (measured: 211)
])
def test_quadratic_matches_scipy(history, gtol, max_iterations, atol):
    with jax.enable_x64(True):
        f, exact = quadratic()
        x0 = np.zeros(20)
        ref_x, ref_f = scipy_minimum(f, x0)
        x, fx, iterations = minimize(f, x0, history, max_iterations, gtol)
    assert iterations < max_iterations, (
        f"|g| > {gtol} after {max_iterations} iterations on a quadratic of condition 100")
    # scipy stops at |x - x*| ~ 1e-6 here (its ftol test); ours goes on to gtol.
    np.testing.assert_allclose(ref_x, exact, atol=1e-5)
    np.testing.assert_allclose(x, ref_x, atol=1e-5)
    np.testing.assert_allclose(x, exact, atol=atol)
    assert fx <= ref_f + 1e-12 * abs(ref_f)


def test_quadratic_float32():
    """The precision the library runs in: still reaches the minimum to float32 accuracy."""
    with jax.enable_x64(True):
        f, exact = quadratic()
        x, _, iterations = minimize(f, np.zeros(20), 100, max_iterations=200, gtol=1e-3,
                                       dtype=jnp.float32)
    assert iterations < 200
    np.testing.assert_allclose(x, exact, atol=1e-3 * np.abs(exact).max())


@pytest.mark.parametrize("x0", [
    np.array([-1.2, 1.0]),  # the standard start
    np.tile([-1.2, 1.0], 5),  # n = 10
], ids=["n2", "n10"])
@pytest.mark.parametrize("history", [10, 100])
def test_rosenbrock_matches_scipy(x0, history):
    """No line search: unit steps overshoot on the way (f rises far above f(x0)), yet it must
    reach the minimum (1, ..., 1) that scipy's L-BFGS-B finds, within 300 iterations
    (measured: 63-147 iterations, float64; f peaks at 3e6-2e9 on the way)."""
    with jax.enable_x64(True):
        ref_x, ref_f = scipy_minimum(rosenbrock, x0)
        x, fx, iterations = minimize(rosenbrock, x0, history, max_iterations=300, gtol=1e-8)
    assert iterations < 300, f"no convergence in 300 iterations: f = {fx}, x = {x}"
    np.testing.assert_allclose(ref_x, np.ones_like(x0), atol=1e-6)
    np.testing.assert_allclose(x, ref_x, atol=1e-6)
    assert fx <= 1e-12 and ref_f <= 1e-12


def test_rejected_trials_are_counted():
    """Search.rejected counts every trial the Armijo safeguard turned down: on Rosenbrock,
    where unit steps overshoot, as many as the steps that ended retrying."""
    with jax.enable_x64(True):
        value_and_grad = jax.value_and_grad(rosenbrock)
        step = jax.jit(lambda x, value, grad, search, k: lbfgs.update(x, value, grad, search,
                                                                      value_and_grad, k))
        x = jnp.asarray([-1.2, 1.0])
        value, grad = value_and_grad(x)
        search, retried = lbfgs.init(x, 10), 0
        for k in range(60):
            x, value, grad, search = step(x, value, grad, search, k)
            retried += int(search.retrying)
    assert int(search.rejected) == retried > 0


# --- the two-loop recursion and the circular history ------------------------------------------------

def two_loop(grad: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]],
             precond: np.ndarray | None = None) -> np.ndarray:
    """-H grad by Nocedal & Wright alg. 7.4 over `pairs` (oldest first): H0 = gamma P (P = I by
    default) with gamma = s'y / y'Py of the newest pair."""
    p = np.eye(grad.size) if precond is None else precond
    q = grad.copy()
    alphas = []
    for s, y in reversed(pairs):
        alpha = (s @ q) / (y @ s)
        q -= alpha * y
        alphas.append(alpha)
    q = p @ q
    if pairs:
        s, y = pairs[-1]
        q *= (s @ y) / (y @ p @ y)
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        beta = (y @ q) / (y @ s)
        q += s * (alpha - beta)
    return -q


@pytest.mark.parametrize("preconditioned", [False, True], ids=["identity", "spd"])
def test_history_holds_the_pairs_of_the_last_m_steps(preconditioned):
    """History of 3, 10 steps pushed (two of them without positive curvature, one rejected):
    after every push the direction equals the numpy two-loop recursion over the pairs the
    slots hold (step k writes slot k % 3 when its pair is kept), oldest first, with H0 =
    gamma I or gamma P for a random symmetric positive definite P."""
    n, m = 12, 3
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n))
    spd = a @ a.T + n * np.eye(n)
    c = rng.standard_normal((n, n))
    p = c @ c.T + 0.5 * np.eye(n) if preconditioned else np.eye(n)
    bad = {3, 7}  # pushes with s'y <= 0: y = -s (negative), and y orthogonal to s (zero)
    rejected = {5}
    with jax.enable_x64(True):
        precond = lbfgs.Preconditioner(lambda v: jnp.asarray(p) @ v,
                                       lambda v: jnp.linalg.solve(jnp.asarray(p), v))
        hist = lbfgs.empty_history(m, n, jnp.float64)
        direction = jax.jit(lambda g, h: lbfgs.direction(g, h, precond))
        push = jax.jit(lambda h, k, s, y, g, taken: lbfgs.push(h, k, s, y, g, taken, precond))
        slots = {}  # slot: (step, s, y) of the pair it holds
        for k in range(10):
            s = rng.standard_normal(n)
            if k == 3:
                y = -s
            elif k == 7:
                y = rng.standard_normal(n)
                y -= (y @ s) / (s @ s) * s
            else:
                y = spd @ s + 0.1 * rng.standard_normal(n)
                assert y @ s > 0
            g = rng.standard_normal(n)
            hist = push(hist, k, jnp.asarray(s), jnp.asarray(y), jnp.asarray(g), k not in rejected)
            if k not in bad | rejected:
                slots[k % m] = (k, s, y)
            kept = [(s_, y_) for _, s_, y_ in sorted(slots.values(), key=lambda v: v[0])]
            expected = two_loop(g, kept, p)
            np.testing.assert_allclose(np.asarray(direction(jnp.asarray(g), hist)), expected,
                                       rtol=1e-9, atol=1e-11, err_msg=f"after push {k}")
            assert int(lbfgs.kept(hist).sum()) == len(kept)
    assert slots[1][0] == 4  # step 7 was not kept: slot 1 still holds step 4's pair


def test_pairs_without_positive_curvature_are_skipped():
    n, m = 6, 4
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        hist = lbfgs.empty_history(m, n, jnp.float64)
        g = rng.standard_normal(n)
        # The empty history gives steepest descent.
        np.testing.assert_allclose(np.asarray(lbfgs.direction(jnp.asarray(g), hist)), -g)
        s = rng.standard_normal(n)
        y = 2.0 * s
        hist = lbfgs.push(hist, 0, jnp.asarray(s), jnp.asarray(y), jnp.asarray(g))
        before = hist
        e0, e1 = np.eye(n)[0], np.eye(n)[1]
        t = rng.standard_normal(n)
        for k, (s_bad, y_bad) in enumerate([(t, -t),  # s'y < 0
                                            (t, -0.5 * t),
                                            (t, np.full(n, np.nan)),  # a non-finite trial
                                            (e0, e1)], start=1):  # s'y == 0, both non-zero
            g = rng.standard_normal(n)
            hist = lbfgs.push(hist, k, jnp.asarray(s_bad), jnp.asarray(y_bad), jnp.asarray(g))
            assert int(lbfgs.kept(hist).sum()) == 1  # step 4 leaves slot 0 with step 0's pair
            for field in ("b", "sy", "ypy", "age"):
                np.testing.assert_array_equal(np.asarray(getattr(hist, field)),
                                              np.asarray(getattr(before, field)))
            np.testing.assert_allclose(np.asarray(lbfgs.direction(jnp.asarray(g), hist)),
                                       two_loop(g, [(s, y)]), rtol=1e-12)
        # The next pair with s'y > 0 goes into its step's slot.
        s2, y2 = e0, e0 * 1e-3 + e1
        hist = lbfgs.push(hist, 5, jnp.asarray(s2), jnp.asarray(y2), jnp.asarray(g))
        assert int(lbfgs.kept(hist).sum()) == 2 and int(hist.age[1]) == 5
        np.testing.assert_allclose(np.asarray(lbfgs.direction(jnp.asarray(g), hist)),
                                   two_loop(g, [(s, y), (s2, y2)]), rtol=1e-12)


def test_first_step_moves_the_largest_pixel_by_one_unit():
    g = jnp.asarray([3.0, -1.0], jnp.float32)
    search = lbfgs.empty_search(4, 2)
    direction, length = lbfgs.trial(g, -g, -g, search, 1.0)
    np.testing.assert_allclose(np.asarray(direction), [-3.0, 1.0])
    assert float(length) == pytest.approx(1 / 3)
    assert float(lbfgs.first_step(jnp.asarray([0.1, -0.2]))) == pytest.approx(5.0)


def test_a_rejected_trial_is_retried_shorter_along_the_same_direction():
    # loss 1, slope -1: a trial at step 1 that raises the loss fails Armijo
    taken, retry = lbfgs.accept(jnp.float32(1.0), jnp.float32(-1.0), jnp.float32(1.0),
                                jnp.float32(3.0))
    assert not bool(taken) and 0.1 <= float(retry) <= 0.5
    taken, retry = lbfgs.accept(jnp.float32(1.0), jnp.float32(-1.0), jnp.float32(1.0),
                                jnp.float32(jnp.nan))
    assert not bool(taken) and float(retry) == pytest.approx(0.1)
    taken, _ = lbfgs.accept(jnp.float32(1.0), jnp.float32(-1.0), jnp.float32(1.0),
                            jnp.float32(0.5))
    assert bool(taken)
    g = jnp.asarray([3.0, -1.0], jnp.float32)
    search = lbfgs.Search(lbfgs.empty_history(4, 2), jnp.asarray([1.0, 2.0]), jnp.float32(0.25),
                          jnp.asarray(True), jnp.int32(1))
    direction, length = lbfgs.trial(g, -g, -g, search, 1.0)
    np.testing.assert_allclose(np.asarray(direction), [1.0, 2.0])
    assert float(length) == 0.25


# --- L-BFGS-B: the box, the subspace direction ----------------------------------------------

def minimize_box(f, x0, lower, upper, history: int, max_iterations: int, gtol: float):
    """Drive lbfgs.init_box / update_box until the projected gradient |x - clip(x - g)| is
    at most gtol. Returns (x, f(x), iterations, every iterate)."""
    value_and_grad = jax.value_and_grad(f)
    lower, upper = jnp.asarray(lower), jnp.asarray(upper)
    step = jax.jit(lambda x, value, grad, state, k: lbfgs.update_box(
        x, value, grad, state, value_and_grad, k, lower, upper, 1e-3))
    x = jnp.asarray(x0, jnp.float64)
    value, grad = jax.jit(value_and_grad)(x)
    state, iterates = lbfgs.init_box(x, history), []
    for iteration in range(max_iterations):
        if float(jnp.linalg.norm(x - jnp.clip(x - grad, lower, upper))) <= gtol:
            return np.asarray(x), float(value), iteration, iterates
        x, value, grad, state = step(x, value, grad, state, iteration)
        iterates.append(np.asarray(x))
    return np.asarray(x), float(value), max_iterations, iterates


def scipy_box_minimum(f, x0, lower, upper):
    f64 = jax.jit(jax.value_and_grad(f))
    result = scipy.optimize.minimize(
        lambda x: tuple(np.asarray(v, np.float64) for v in f64(jnp.asarray(x, jnp.float64))),
        np.asarray(x0, np.float64), jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)),
        options=dict(maxiter=10_000, ftol=1e-15, gtol=1e-10))
    assert result.success, result.message
    return result.x, float(result.fun)


@pytest.mark.parametrize("history", [5, 100])
def test_a_bounded_quadratic_matches_scipys_lbfgsb(history):
    """A quadratic of condition 100 whose minimum lies outside the box [-1, 1]^30: the
    solution has variables at both bounds; ours reaches scipy's L-BFGS-B solution, and every
    iterate stays in the box. (The loss reaches its rounding error at a projected gradient
    near 1e-5; measured: 1e-6 after 110 iterations with m = 5.)"""
    with jax.enable_x64(True):
        f, exact = quadratic(n=30, seed=1)
        lower, upper = -np.ones(30), np.ones(30)
        ref_x, ref_f = scipy_box_minimum(f, np.zeros(30), lower, upper)
        x, fx, iterations, iterates = minimize_box(f, np.zeros(30), lower, upper, history,
                                                   max_iterations=300, gtol=1e-6)
    assert np.abs(exact).max() > 1 and np.sum(np.abs(ref_x) == 1) >= 5  # the box binds
    assert np.any(ref_x == -1) and np.any(ref_x == 1)
    assert iterations < 300
    np.testing.assert_allclose(x, ref_x, atol=1e-6)
    assert fx <= ref_f + 1e-12 * abs(ref_f)
    assert all(np.all((xk >= lower) & (xk <= upper)) for xk in iterates)


def test_a_bounded_rosenbrock_matches_scipys_lbfgsb():
    """Rosenbrock in a box that excludes its minimum (1, ..., 1): the constrained minimum
    has variables at the upper bound 0.8, as scipy's L-BFGS-B finds."""
    with jax.enable_x64(True):
        x0 = np.tile([-1.2, 0.5], 4)
        lower, upper = np.full(8, -1.5), np.full(8, 0.8)
        ref_x, ref_f = scipy_box_minimum(rosenbrock, x0, lower, upper)
        x, fx, iterations, _ = minimize_box(rosenbrock, x0, lower, upper, 10,
                                            max_iterations=500, gtol=1e-9)
    assert np.any(ref_x == 0.8)
    assert iterations < 500, f"no convergence in 500 iterations: f = {fx}, x = {x}"
    np.testing.assert_allclose(x, ref_x, atol=1e-6)
    assert fx == pytest.approx(ref_f, rel=1e-9)


def dense_hessian(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The L-BFGS Hessian approximation as BFGS builds it: theta I (theta = y'y / s'y of the
    newest pair), updated with each pair from the oldest."""
    s_new, y_new = pairs[-1]
    b = np.eye(len(s_new)) * (y_new @ y_new) / (s_new @ y_new)
    for s, y in pairs:
        bs = b @ s
        b = b - np.outer(bs, bs) / (s @ bs) + np.outer(y, y) / (y @ s)
    return b


@pytest.mark.parametrize("history", [3, 8])
def test_the_subspace_direction_inverts_the_free_block_of_the_bfgs_matrix(history):
    """After steps on a quadratic (the history full and wrapped around for m = 3), the
    direction for a random set of free variables is -(B_FF)^-1 g_F, with B built by dense
    BFGS updates from the pairs; with every variable free it is the two-loop direction; and
    the state's s_i . s_j are those of the pairs."""
    with jax.enable_x64(True):
        f, _ = quadratic(n=12, seed=2)
        value_and_grad = jax.value_and_grad(f)
        x = jnp.zeros(12)
        value, grad = value_and_grad(x)
        state = lbfgs.init_box(x, history)
        for k in range(6):
            x, value, grad, state = lbfgs.update_box(x, value, grad, state, value_and_grad, k,
                                                     -10.0, 10.0, 1e-3)
        hist = state.search.history
        slots = [int(i) for i in np.argsort(np.asarray(hist.age)) if hist.age[i] >= 0]
        b = np.asarray(hist.b)
        pairs = [(b[i], b[history + i]) for i in slots]
        assert len(pairs) >= min(history, 4)  # m = 3: the buffer has wrapped around
        np.testing.assert_allclose(np.asarray(state.ss), b[:history] @ b[:history].T,
                                   rtol=1e-10, atol=1e-12)
        rng = np.random.default_rng(3)
        g = rng.standard_normal(12)
        free = (rng.uniform(size=12) < 0.6).astype(np.float64)
        direction = np.asarray(lbfgs.box_direction(jnp.asarray(g), jnp.asarray(free), hist,
                                                   state.ss))
        dense = dense_hessian(pairs)
        f_idx = np.flatnonzero(free)
        expected = np.zeros(12)
        expected[f_idx] = -np.linalg.solve(dense[np.ix_(f_idx, f_idx)], g[f_idx])
        np.testing.assert_allclose(direction, expected, rtol=1e-8, atol=1e-10)
        everything = np.asarray(lbfgs.box_direction(jnp.asarray(g), jnp.ones(12), hist,
                                                    state.ss))
        two_loop_direction = lbfgs.direction(jnp.asarray(g), hist._replace(bg=hist.b @ g))
        np.testing.assert_allclose(everything, np.asarray(two_loop_direction), rtol=1e-8)


def test_variables_held_at_their_bounds():
    """Held: at (or within eps of) a bound with the gradient pushing out; free: inside, or at a
    bound with the gradient pushing in."""
    x = jnp.asarray([0.0, 0.0, 1.0, 1.0, 0.5, 0.0005])
    grad = jnp.asarray([1.0, -1.0, -1.0, 1.0, 1.0, 1.0])
    free = lbfgs.free_variables(x, grad, jnp.zeros(6), jnp.ones(6), jnp.full(6, 1e-3))
    np.testing.assert_array_equal(np.asarray(free), [0, 1, 0, 1, 1, 0])
