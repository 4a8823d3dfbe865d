"""The project's L-BFGS (unit steps, no line search) against scipy's L-BFGS-B and a direct numpy
two-loop recursion; its update takes one evaluation per step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from gatys_jax import lbfgs


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
    direction, length = lbfgs.trial(g, search, 1.0)
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
    direction, length = lbfgs.trial(g, search, 1.0)
    np.testing.assert_allclose(np.asarray(direction), [1.0, 2.0])
    assert float(length) == 0.25
