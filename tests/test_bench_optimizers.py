"""The optimizer benchmarks end to end at a tiny size: benchmarks.optimizers (every method from
the same x_0, every evaluation counted, line-search trials included) and benchmarks.lbfgs_panel
(the project's L-BFGS against torch.optim.LBFGS on the panel)."""

import dataclasses
from collections import defaultdict

import jax
import numpy as np
import pytest

from gatys_jax.engine import driver
from gatys_jax.model.objective import Objective
from lab import experiment

import bench_checks
from bench_checks import FIRST_LOSS_RTOL, assert_png, read_csv
from conftest import CONTENT, STYLE

torch_threads = bench_checks.torch_threads  # the fixture, where pytest looks for it


# ---------------------------------------------------------------- optimizers


CALLS = []  # a host callback's record of every evaluation of CountedObjective


class CountedObjective(Objective):
    """The objective, telling the host every time its loss is computed."""

    def total(self, x, params, targets, weights):
        value = super().total(x, params, targets, weights)
        jax.debug.callback(CALLS.append, value)
        return value


def test_line_search_steps_count_every_evaluation(plain_weights_path):
    """The evaluation count a line-search solver reports to the driver equals the number of
    times the objective really ran (a host callback in the objective), trials included."""
    from benchmarks import optimizer_runs, optimizers
    from gatys_jax.weights import h5

    config = optimizers.DEFAULTS.replace(size=32)
    problem = experiment.problem(config, CONTENT, STYLE, h5.load(plain_weights_path))
    objective = CountedObjective(**dataclasses.asdict(problem.objective))
    arguments = experiment.device_arguments(problem, config)
    x0 = problem.x0(config)
    for family in optimizer_runs.LINE_SEARCH:
        solver = optimizer_runs.solver(optimizer_runs.Method(family, family, family), 100)
        compiled = driver.compile(solver, objective, x0, *arguments, steps=1)
        CALLS.clear()
        counts = []
        driver.run(compiled, x0, arguments, driver.StopRule(3),
                   lambda state, row: counts.append(int(row.evaluations[0])))
        jax.effects_barrier()
        assert counts[0] == 1 and np.all(np.diff(counts) >= 1), (family, counts)
        assert counts[-1] == len(CALLS), (family, counts, len(CALLS))


@pytest.mark.slow
def test_optimizers_end_to_end(tmp_path, torch_threads, plain_weights_path):
    from benchmarks import optimizer_runs, optimizers
    n, seeds = 5, (0, 1)
    out, docs = tmp_path / "optimizers", tmp_path / "docs" / "optimizer_methods.md"
    code = optimizers.main([
        "--content", CONTENT, "--style", STYLE, "--weights", str(plain_weights_path),
        "--size", "32", "--evaluations", str(n), "--seeds", ",".join(map(str, seeds)),
        "--adam-lrs", "10", "--threads", "1", "--out", str(out), "--docs", str(docs),
        "--log-dir", str(tmp_path / "logs")])
    assert code == 0
    for name in ("curves.png", "grid.png"):
        assert_png(out / name)
    # one TensorBoard run per method and seed, each holding its curve
    from test_event_log import scalars
    assert len(list((tmp_path / "logs").iterdir())) == 16
    logged = scalars(tmp_path / "logs" / "jax_lbfgs_seed0")["loss/total"]
    assert [step for step, _ in logged] == list(range(1, n + 1))

    fields, rows = read_csv(out / "curves.csv")
    assert fields == ["method", "seed", "evaluations", "seconds", "total_loss"]
    curves = defaultdict(list)
    for row in rows:
        curves[(row["method"], int(row["seed"]))].append(
            (int(row["evaluations"]), float(row["seconds"]), float(row["total_loss"])))
    methods = {"jax_lbfgs", "jax_lbfgs_preconditioned", "jax_adam_lr10", "optax_lbfgs_zoom",
               "optax_lbfgs_backtracking", "optax_adabelief", "torch_lbfgs", "torch_adam"}
    assert set(curves) == {(m, s) for m in methods for s in seeds}
    for (method, seed), curve in curves.items():
        evals = [e for e, _, _ in curve]
        assert evals[0] == 1 and np.all(np.diff(evals) > 0), (method, evals)
        assert np.all(np.diff([s for _, s, _ in curve]) >= 0), method
        if method in optimizer_runs.LINE_SEARCH:
            # a line search cannot stop inside an iteration: at most n, never more
            assert evals[-1] <= n, (method, evals)
        else:
            assert evals[-1] == n, (method, evals)
    for seed in seeds:  # the same x_0: JAX, optax and PyTorch agree on the first loss
        firsts = [curves[(m, seed)][0][2] for m in sorted(methods)]
        np.testing.assert_allclose(firsts, firsts[0], rtol=FIRST_LOSS_RTOL)

    fields, summary = read_csv(out / "summary.csv")
    for column in ("method", "label", "runs", "final_loss_median", "final_loss_min",
                   "final_loss_max", "evals_to_target_median", "evals_to_target_min",
                   "evals_to_target_max", "seconds_to_target_median", "seconds_to_target_min",
                   "seconds_to_target_max", "reached"):
        assert column in fields
    assert {row["method"] for row in summary} == methods
    assert all(int(row["runs"]) == len(seeds) for row in summary)
    # the best method on each seed reaches the target (5% above the best final loss)
    assert max(int(row["reached"]) for row in summary) >= 1
    table = (out / "summary.md").read_text()
    assert all(row["label"] in table for row in summary)
    # the loss after 1 evaluation and after n (median over seeds), one row per method
    checkpoints = table[table.index("| method | 1 evals |"):]
    assert f"| {n} evals |" in checkpoints.splitlines()[0]
    assert all(row["label"] in checkpoints for row in summary)
    report = docs.read_text()
    assert table in report and "python -m benchmarks.optimizers --content" in report


# ---------------------------------------------------------------- L-BFGS panel


@pytest.mark.slow
def test_lbfgs_panel_end_to_end(tmp_path, torch_threads, plain_weights_path):
    """Two pairs at 32 px: torch's run sets the target, ours runs from the same x_0; the
    losses at the checkpoints, the rejections and the time to the target reach the CSV and
    the report."""
    from benchmarks import lbfgs_panel
    out, docs = tmp_path / "panel", tmp_path / "docs" / "optimizers.md"
    code = lbfgs_panel.main([
        "--weights", str(plain_weights_path), "--size", "32", "--evaluations", "120",
        "--cap", "1.5", "--pairs", "chelsea+starry_night,coffee+shipwreck", "--threads", "1",
        "--coarse-start", "16", "--out", str(out), "--docs", str(docs)])
    assert code == 0
    _, rows = read_csv(out / "panel.csv")
    assert [(r["pair"], r["seed"]) for r in rows] == [("chelsea+starry_night", "0"),
                                                      ("coffee+shipwreck", "0")]
    for r in rows:
        assert int(r["ours_rejected"]) >= 0
        for at in (50, 100, 120):
            ratio = float(r[f"ours_loss_{at}"]) / float(r[f"torch_loss_{at}"])
            assert float(r[f"loss_ratio_{at}"]) == pytest.approx(ratio)
        if r["ours_evaluations_to_target"]:
            assert int(r["ours_evaluations_to_target"]) <= 180
            assert float(r["time_ratio"]) > 0
        if r["coarse_seconds_to_target"]:  # every scale's seconds counted
            ratio = float(r["coarse_seconds_to_target"]) / float(r["torch_seconds"])
            assert float(r["coarse_time_ratio"]) == pytest.approx(ratio)
    _, curves = read_csv(out / "curves.csv")
    for r in rows:
        # ours stops once it has made torch's evaluations and reached its loss, else at the cap
        reached = int(r["ours_evaluations_to_target"] or 0)
        for run, last in (("torch", 120), ("ours", max(120, reached) if reached else 180)):
            evaluations = [int(c["evaluations"]) for c in curves
                           if c["run"] == run and c["pair"] == r["pair"]]
            assert evaluations[0] == 1 and evaluations[-1] == last, (r["pair"], run)
    # both start from the same x_0: the same first loss
    firsts = [float(c["total_loss"]) for c in curves
              if c["pair"] == "chelsea+starry_night" and c["evaluations"] == "1"]
    np.testing.assert_allclose(firsts[0], firsts[1], rtol=FIRST_LOSS_RTOL)
    report = docs.read_text()
    assert "| chelsea+starry_night | 0 |" in report and "time to torch's loss" in report
    assert "coarse to fine from 16 px" in report
