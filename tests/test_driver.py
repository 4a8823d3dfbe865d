"""The driver: any solver through one compile/run, the batched step equal to the unbatched one,
the history updated in place under vmap, evaluation budgets, and non-finite stops."""

import re

import numpy as np
import optax
import pytest

from gatys_jax import build
from gatys_jax.config import StyleConfig
from gatys_jax.engine import batch, driver
from gatys_jax.model.convention import CAFFE, TORCHVISION, to_network
from gatys_jax.model.objective import Objective, loss_weights
from gatys_jax.optim import solvers
from gatys_jax.problem import build_problem
from paper.saved_runs import same_from_cap

from conftest import random_weights

SHAPE = (24, 32)


@pytest.fixture(scope="module")
def problem():
    """A random VGG19 and random images: the driver's behaviour, not the pictures."""
    rng = np.random.default_rng(0)
    content, style = (rng.uniform(0, 255, SHAPE + (3,)).astype(np.float32) for _ in range(2))
    objective = Objective("conv3_2", ("conv1_1", "conv2_1", "conv3_1"))
    return build_problem(objective, random_weights(1), content, [style])


def arrays(problem, seeds):
    """(x0, targets, weights) for each seed, stacked when several."""
    per_seed = [(problem.x0(StyleConfig(seed=seed)), problem.targets[0],
                 loss_weights(1e-3, (1 / 3,) * 3)) for seed in seeds]
    return per_seed[0] if len(seeds) == 1 else batch.stack(per_seed)


def run(problem, solver, seeds, iterations=6, to_pixels=None, **rule):
    x0, targets, weights = arrays(problem, seeds)
    params = problem.vgg.params
    compiled = driver.compile(solver, problem.objective, x0, params, targets, weights,
                              batched=len(seeds) > 1)
    return driver.run(compiled, x0, (params, targets, weights),
                      driver.StopRule(iterations, **rule), to_pixels=to_pixels)


# Batched and unbatched convolutions differ in rounding, which L-BFGS's curvature pairs
# (y = g1 - g0) amplify: within 6 steps a pixel may part by hundredths of a grey level.
# A batching error (a step or a memory shared across images) moves pixels by far more.
QUASI_NEWTON_ATOL = 5e-2  # grey levels


@pytest.mark.parametrize("solver, x_atol", [
    pytest.param(solvers.lbfgs_solver(5), QUASI_NEWTON_ATOL, id="lbfgs"),
    pytest.param(solvers.named("adam"), 1e-3, id="adam"),
    pytest.param(solvers.named("optax:adabelief", 2.0), 1e-3, id="adabelief"),
    pytest.param(solvers.from_optax(optax.sgd(1e-3)), 1e-3, id="sgd"),
    pytest.param(solvers.lbfgsb_solver(build.pixel_box(CAFFE), 5), QUASI_NEWTON_ATOL,
                 id="lbfgsb")])
def test_an_image_alone_equals_its_place_in_a_batch(problem, solver, x_atol):
    alone = run(problem, solver, [1])
    together = run(problem, solver, [0, 1])
    assert alone.state.x.shape == SHAPE + (3,) and together.state.x.shape == (2,) + SHAPE + (3,)
    assert int(alone.state.iteration) == int(together.state.iteration) == 6
    np.testing.assert_allclose(np.asarray(together.state.value)[1], float(alone.state.value),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(together.state.x)[1], np.asarray(alone.state.x),
                               rtol=1e-4, atol=x_atol)
    assert [row["total_loss"] for row in alone.trace.history()] == pytest.approx(
        [row["total_loss"] for row in together.trace.history(1)], rel=1e-5)
    assert alone.trace.history()[-1]["total_loss"] < alone.trace.history()[0]["total_loss"]


def test_lbfgsb_keeps_every_pixel_in_range_where_lbfgs_leaves_it(problem):
    """From the same start, the unbounded L-BFGS moves pixels out of 0..255 while L-BFGS-B
    keeps every iterate in it; a start outside the range is clipped into it first. All
    lower the loss."""
    box = build.pixel_box(CAFFE)
    x0, targets, weights = arrays(problem, [0])
    outside_start = x0 + np.where(np.arange(x0.size).reshape(x0.shape) % 7 == 0, 300.0, 0.0)
    iterates = {}
    for name, solver, start in (("lbfgs", solvers.lbfgs_solver(5), x0),
                                ("lbfgsb", solvers.lbfgsb_solver(box, 5), x0),
                                ("lbfgsb from outside", solvers.lbfgsb_solver(box, 5),
                                 outside_start)):
        compiled = driver.compile(solver, problem.objective, start, problem.vgg.params,
                                  targets, weights)
        seen = iterates.setdefault(name, [])
        done = driver.run(compiled, start, (problem.vgg.params, targets, weights),
                          driver.StopRule(40),
                          on_update=lambda state, row: seen.append(np.asarray(state.x)))
        history = done.trace.history()
        assert history[-1]["total_loss"] < history[0]["total_loss"], name
    inside = lambda x: np.all((x >= box.lower) & (x <= box.upper))
    assert all(inside(x) for x in iterates["lbfgsb"] + iterates["lbfgsb from outside"])
    assert not inside(iterates["lbfgs"][-1])


@pytest.mark.parametrize("convention", [CAFFE, TORCHVISION], ids=["caffe", "torchvision"])
def test_the_pixel_box_clips_as_8_bit_pixels_clip(convention):
    rgb = np.random.default_rng(0).uniform(-100, 355, (4, 5, 3)).astype(np.float32)
    box = build.pixel_box(convention)
    np.testing.assert_allclose(np.asarray(box.clip(to_network(rgb, convention))),
                               to_network(np.clip(rgb, 0, 255), convention), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(box.grey_level, (box.upper - box.lower) / 255)


def test_the_batched_history_is_updated_in_place(problem):
    """Under vmap the L-BFGS history (2 x history x pixels floats per image) is written with
    dynamic-update-slice at a slot shared by the batch, never scattered or copied whole."""
    x0, targets, weights = arrays(problem, [0, 1])
    compiled = driver.compile(solvers.lbfgs_solver(5), problem.objective, x0,
                              problem.vgg.params, targets, weights, batched=True)
    text = compiled.step.as_text()
    history = rf"f32\[2,10,{SHAPE[0] * SHAPE[1] * 3}\]"
    assert re.search(history + r"\{[^}]*\} dynamic-update-slice\(", text)
    for op in ("scatter", "copy"):
        assert not re.search(history + r"\{[^}]*\} " + op + r"\(", text), op


def test_several_steps_per_call_hold_the_memory_of_one(problem):
    """The `lax.scan` of many steps reuses one step's buffers: XLA's accounting of the compiled
    program (state and temporaries) does not grow with the steps it runs."""
    x0, targets, weights = arrays(problem, [0])
    one, many = (driver.program_bytes(driver.compile(
        solvers.lbfgs_solver(5), problem.objective, x0, problem.vgg.params, targets, weights,
        steps=steps)) for steps in (1, 25))
    history = 2 * 5 * SHAPE[0] * SHAPE[1] * 3 * 4
    assert one["arguments"] > history and one["aliased"] >= history
    assert many["arguments"] == one["arguments"]
    assert many["temporaries"] <= 1.1 * one["temporaries"]


def test_runs_stop_once_the_callers_goal_is_met(problem):
    seen = []
    result = run(problem, solvers.lbfgs_solver(5), [0], iterations=50,
                 until=lambda row: seen.append(int(row[0][0])) or row[0][0] >= 4)
    assert seen == [1, 2, 3, 4] and int(result.state.evaluations) == 4
    assert int(result.state.iteration) == 3


def test_line_search_evaluations_are_counted_and_budgets_stop_the_run(problem):
    result = run(problem, solvers.named("optax:lbfgs", history=5), [0], iterations=50,
                 max_evaluations=12)
    evaluations = [row["evaluations"] for row in result.trace.history()]
    assert evaluations[0] == 1 and evaluations == sorted(evaluations)
    assert evaluations[-1] >= 12 and evaluations[-2] < 12  # stops at the first past the budget
    assert len(evaluations) - 1 < evaluations[-1]  # some steps made several evaluations


def test_a_non_finite_loss_stops_the_run(problem):
    with pytest.raises(driver.NonFiniteLoss, match="non-finite after"):
        run(problem, solvers.from_optax(optax.sgd(1e30)), [0])


def test_the_convergence_rule_on_a_synthetic_curve():
    """A loss that halves its distance to 100 every 10 evaluations converges at the first
    evaluation where it fell by at most 0.1% over the last 50; a flat one as soon as 50
    evaluations lie behind it."""
    trace = driver.Trace(0.0)
    stopped = None
    for evaluations in range(1, 400):
        loss = 100 + 1000 * 0.5 ** (evaluations / 10)
        trace.rows.append(driver.TraceRow(np.array([evaluations, evaluations]),
                                          np.array([loss, 5.0]), 0.0))
        done = trace.converged(driver.StopRule(0, tolerance=1e-3, window=50))
        if stopped is None and done.all():
            stopped = evaluations
        assert done[1] == (evaluations > 50)  # a flat loss converges once 50 evaluations back
    excess = lambda e: 1000 * 0.5 ** (e / 10)
    expected = next(e for e in range(51, 400)
                    if excess(e - 50) - excess(e) <= 1e-3 * (100 + excess(e)))
    assert stopped == expected


def test_runs_stop_when_every_image_has_converged(problem):
    result = run(problem, solvers.named("adam", 1.0), [0, 1], iterations=1000,
                 tolerance=0.5, window=3)
    steps = int(result.state.iteration)
    assert 3 <= steps < 1000
    assert result.trace.converged(driver.StopRule(1000, tolerance=0.5, window=3)).all()


def test_a_run_clear_of_its_cap_ends_the_same_from_its_steps_up(problem):
    """With 4 steps per call, the run that converges without a cap names its steps as the
    lowest cap that gives it again: every cap from there up gives it, step and image, and
    every lower one does not; a run that ends among the single steps taken as the cap nears
    names none."""
    x0, targets, weights = arrays(problem, [0])
    args = (problem.vgg.params, targets, weights)
    compiled = driver.compile(solvers.lbfgs_solver(5), problem.objective, x0, *args, steps=4)

    def capped(cap):
        stop = driver.StopRule(cap, tolerance=0.01, window=3)
        done = driver.run(compiled, x0, args, stop)
        steps = int(done.state.iteration)
        lowest = same_from_cap(done.trace.converged(stop).all(), steps, 4, cap)
        return steps, np.asarray(done.state.x), lowest

    free_steps, free_x, lowest = capped(1000)
    assert lowest == free_steps and 12 <= free_steps < 1000
    for cap in range(free_steps - 3, free_steps + 6):
        steps, x, own_lowest = capped(cap)
        assert (steps == free_steps and np.array_equal(x, free_x)) == (cap >= lowest)
        assert own_lowest in (None, lowest)
    assert capped(free_steps + 1)[2] is None  # its last steps single ones: not known to be alike
    assert same_from_cap(False, 8, 1, 100) is None
    assert same_from_cap(True, 100, 1, 100) == 100


def test_the_image_rule_on_synthetic_images():
    """Compared every 100 evaluations: an image that decays by 3% per evaluation towards a
    fixed picture moves 4.5 grey levels (RMS) from evaluation 100 to 200 and 0.21 from 200
    to 300, so it converges at 300 with a tolerance of 0.5; one that drifts 0.01 levels per
    evaluation forever (1 level per 100) never does; the loss plays no part."""
    trace = driver.Trace(0.0)
    rows = []
    for evaluations in range(0, 401):
        decaying = np.full(12, 100 * 0.97 ** evaluations)
        drifting = np.full(12, 0.01 * evaluations)
        trace.rows.append(driver.TraceRow(np.array([evaluations, evaluations]),
                                          np.array([1.0, 1.0]), 0.0))
        trace.watch(np.stack([decaying, drifting]), lambda x: x, 100)
        rows.append(trace.converged(driver.StopRule(0, pixels=0.5)))
    assert [bool(r[0]) for r in rows].index(True) == 300
    assert not any(r[1] for r in rows)
    np.testing.assert_allclose(trace.moved, [100 * (0.97 ** 300 - 0.97 ** 400), 1.0], rtol=1e-6)
    moved = [(row["evaluations"], row["moved"]) for row in trace.history(1) if "moved" in row]
    assert moved == [(100, pytest.approx(1.0)), (200, pytest.approx(1.0)),
                     (300, pytest.approx(1.0)), (400, pytest.approx(1.0))]
    # with neither rule there is nothing to judge
    assert trace.converged(driver.StopRule(0)) is None


def test_runs_stop_when_every_image_has_stopped_moving(problem):
    """Adam's steps shrink as it settles: a tolerance of 10 grey levels per 3 evaluations
    ends the run early, one of 1e-9 never does."""
    loose = run(problem, solvers.named("adam", 1.0), [0, 1], iterations=300, window=3,
                pixels=10.0, to_pixels=lambda x: x)
    assert int(loose.state.iteration) < 300 and (loose.trace.moved < 10).all()
    strict = run(problem, solvers.named("adam", 1.0), [0], iterations=30, window=3,
                 pixels=1e-9, to_pixels=lambda x: x)
    assert int(strict.state.iteration) == 30
    assert not strict.trace.converged(driver.StopRule(30, window=3, pixels=1e-9)).any()
