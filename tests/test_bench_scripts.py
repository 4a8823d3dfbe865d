"""The benchmarks (python -m benchmarks.optimizers, benchmarks.vs_torch) run end to end at a tiny
size and write their CSV, PNG and Markdown; every evaluation is counted; PyTorch and JAX start
from the same loss. Also the helpers the benchmarks share instead of keeping copies."""

import ast
import csv
import dataclasses
import importlib.util
from collections import defaultdict
from pathlib import Path

import jax
import numpy as np
import pytest

from benchmarks import common
from gatys_jax.config import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS
from gatys_jax.engine import costs, driver
from gatys_jax.model.objective import Objective
from lab import experiment

from conftest import CONTENT, STYLE, require

BENCHMARKS = Path(common.__file__).parent
PNG = b"\x89PNG\r\n\x1a\n"
FIRST_LOSS_RTOL = 1e-4


def need_torch():
    """Skip without torch outside CI; in CI a missing torch fails (conftest.require)."""
    require(importlib.util.find_spec("torch") is not None,
            "torch is not installed (pip install -e '.[torch]')")


@pytest.fixture
def torch_threads():
    """The benchmarks set torch's thread count in this process: restore it afterwards."""
    need_torch()
    import torch
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def assert_png(path: Path):
    assert path.is_file() and path.read_bytes()[:8] == PNG, path


# ---------------------------------------------------------------- shared helpers


def test_flop_model_and_curve_lookups():
    # conv FLOPs at 512x384 through conv5_1, forward + input gradient
    assert 2 * costs.forward_flops(384, 512) / 1e9 == pytest.approx(284.1, abs=0.1)
    grams = sum(4 * (384 >> b) * (512 >> b) * n * n
                for b, n in zip(range(5), (64, 128, 256, 512, 512)))
    objective = Objective(DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS)
    assert costs.evaluation_flops(objective, 384, 512) == 2 * costs.forward_flops(384, 512) + grams
    history = [{"evaluations": 1, "seconds": 0.5, "total_loss": 9.0},
               {"evaluations": 4, "seconds": 1.0, "total_loss": 5.0},
               {"evaluations": 5, "seconds": 2.0, "total_loss": 6.0}]
    assert common.loss_at(history, 3) == 9.0
    assert common.loss_at(history, 1.5, key="seconds") == 5.0
    assert common.loss_at(history, 0.1, key="seconds") is None
    assert common.first_reaching(history, 5.5) == (4, 1.0)
    assert common.first_reaching(history, 1.0) == (None, None)


def test_loss_agreement_is_judged_by_the_backends_precision_and_reported():
    from benchmarks import vs_torch
    assert common.loss_rtol() == common.LOSS_RTOL[jax.default_backend()]
    assert common.LOSS_RTOL["gpu"] > common.LOSS_RTOL["cpu"]  # TF32-class convolutions
    rows = [{"implementation": impl, "size": size, "loss_rel_to_jax_float32": rel}
            for size, rel in ((512, 3e-5), (1024, 1.1e-4))
            for impl, rel in (("JAX float32", 0.0), ("PyTorch nchw", rel))]
    assert "within 1.1e-04" in vs_torch.loss_agreement(rows, 2e-3)
    assert "within it." in vs_torch.loss_agreement(rows, 2e-3)
    over = vs_torch.loss_agreement(rows, 1e-4)
    assert "over it at 1024 px:" in over and "512 px" not in over


def test_benchmarks_share_one_implementation_of_each_helper():
    """One CPU count (lab.host), one FLOP model (gatys_jax.engine.costs), one timing loop: the
    other modules import them."""
    from benchmarks import features
    assert features.forward_flops is costs.forward_flops
    assert features.time_round_robin is common.time_round_robin
    assert features.matmul_case is common.matmul_case
    from benchmarks import torch_reference
    from lab import host
    assert torch_reference.cores is host.cores


def test_bad_arguments_give_one_line_errors(capsys):
    from benchmarks import bounds, lbfgs_panel, memory, optimizers, vs_torch
    for main, argv, words in (
            (bounds.main, ["--pairs", "chelsea"], "pairs"),
            (bounds.main, ["--seeds", "3-1"], "seed"),
            (lbfgs_panel.main, ["--pairs", "chelsea"], "pairs"),
            (lbfgs_panel.main, ["--evaluations", "100"], "--evaluations"),
            (lbfgs_panel.main, ["--cap", "0.5"], "--cap"),
            (lbfgs_panel.main, ["--coarse-start", "256"], "--coarse-start"),
            (memory.main, ["--sizes", "1024,x"], "--sizes"),
            (memory.main, ["--sizes", "0"], "--sizes"),
            (optimizers.main, ["--methods", "jax_lbfgs,newton"], "unknown method"),
            (optimizers.main, ["--seeds", "3-1"], "seed"),
            (optimizers.main, ["--evaluations", "1"], "--evaluations"),
            (optimizers.main, ["--adam-lrs", "1,x"], "--adam-lrs"),
            (optimizers.main, ["--content-weight", "1e-3,1e-4"], "--content-weight"),
            (vs_torch.main, ["--sizes", "8,32"], "--sizes"),
            (vs_torch.main, ["--dtypes", "bfloat16"], "--dtypes"),
            (vs_torch.main, ["--precondition", "3"], "--precondition"),
            (vs_torch.main, ["--content", "nosuchsample"], "--content"),
            (vs_torch.main, ["--weights", "/nonexistent.h5"], "--weights")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].count("error:") == 1 and words in err[-1], err
        assert "Traceback" not in "\n".join(err)


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
    from benchmarks import optimizers
    from gatys_jax.weights import h5

    config = optimizers.DEFAULTS.replace(size=32)
    problem = experiment.problem(config, CONTENT, STYLE, h5.load(plain_weights_path))
    objective = CountedObjective(**dataclasses.asdict(problem.objective))
    arguments = experiment.device_arguments(problem, config)
    x0 = problem.x0(config)
    for family in optimizers.LINE_SEARCH:
        solver = optimizers.solver(optimizers.Method(family, family, family), 100)
        compiled = driver.compile(solver, objective, x0, *arguments, chunk=1)
        CALLS.clear()
        counts = []
        driver.run(compiled, x0, arguments, 3, lambda state, row: counts.append(int(row[0][0])))
        jax.effects_barrier()
        assert counts[0] == 1 and np.all(np.diff(counts) >= 1), (family, counts)
        assert counts[-1] == len(CALLS), (family, counts, len(CALLS))


@pytest.mark.slow
def test_optimizers_end_to_end(tmp_path, torch_threads, plain_weights_path):
    from benchmarks import optimizers
    n, seeds = 5, (0, 1)
    out, docs = tmp_path / "optimizers", tmp_path / "docs" / "optimizer_methods.md"
    code = optimizers.main([
        "--content", CONTENT, "--style", STYLE, "--weights", str(plain_weights_path),
        "--size", "32", "--evaluations", str(n), "--seeds", ",".join(map(str, seeds)),
        "--adam-lrs", "10", "--threads", "1", "--out", str(out), "--docs", str(docs)])
    assert code == 0
    for name in ("curves.png", "grid.png"):
        assert_png(out / name)

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
        if method in optimizers.LINE_SEARCH:
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


# ---------------------------------------------------------------- vs_torch


@pytest.mark.slow
def test_vs_torch_end_to_end(tmp_path, torch_threads, plain_weights_path):
    from benchmarks import vs_torch
    out, docs = tmp_path / "bench", tmp_path / "docs" / "benchmarks.md"
    n = 4
    code = vs_torch.main([
        "--content", CONTENT, "--style", STYLE, "--weights", str(plain_weights_path),
        "--sizes", "32,48", "--repeats", "1", "--size", "32", "--full-evaluations", str(n),
        "--matmul-size", "256", "--threads", "1", "--precondition", "0.5", "--out", str(out),
        "--docs", str(docs)])
    assert code == 0
    assert_png(out / "chart.png")

    fields, rows = read_csv(out / "evals.csv")
    for column in ("size", "implementation", "median_ms", "setup_s", "gflop_per_s",
                   "percent_of_peak", "rss_peak_mb", "rss_increase_mb", "device_peak_mb",
                   "loss", "loss_rel_to_jax_float32"):
        assert column in fields
    impls = ["JAX float32", "JAX bfloat16", "PyTorch nchw", "PyTorch channels_last"]
    assert [(int(r["size"]), r["implementation"]) for r in rows] == \
        [(s, i) for s in (32, 48) for i in impls]
    for r in rows:
        assert float(r["median_ms"]) > 0 and float(r["gflop_per_s"]) > 0
        assert float(r["rss_peak_mb"]) > float(r["rss_increase_mb"]) > 0  # a fresh process
        if r["implementation"].startswith("PyTorch"):
            assert abs(float(r["loss_rel_to_jax_float32"])) <= FIRST_LOSS_RTOL

    fields, curve_rows = read_csv(out / "full_run.csv")
    assert fields == ["run", "evaluations", "seconds", "total_loss"]
    runs = defaultdict(list)
    for row in curve_rows:
        runs[row["run"]].append((int(row["evaluations"]), float(row["total_loss"])))
    assert set(runs) == {"torch", "float32", "bfloat16"}
    for run, curve in runs.items():
        assert [e for e, _ in curve] == list(range(1, n + 1)), run  # exactly n, all counted
    np.testing.assert_allclose(runs["float32"][0][1], runs["torch"][0][1], rtol=FIRST_LOSS_RTOL)

    table = (out / "table.md").read_text()
    for text in ("## One loss + gradient evaluation", "## Full run", "JAX / faster PyTorch",
                 "Same objective: PyTorch's loss of x_0 is within",
                 "worth it here", "## Goals", "preconditioned, e 0.5", "saved 8-bit image"):
        assert text in table, text
    report = docs.read_text()
    assert f"jax {jax.__version__}" in report and "## Full run" in report
    assert "python -m benchmarks.vs_torch --content" in report


# ---------------------------------------------------------------- memory


@pytest.mark.slow
def test_memory_end_to_end(tmp_path, plain_weights_path):
    """Each size runs in a fresh process; its plan and measured peaks reach the CSV and the
    report."""
    from benchmarks import memory
    out, docs = tmp_path / "bench", tmp_path / "docs" / "memory.md"
    code = memory.main(["--weights", str(plain_weights_path), "--sizes", "32", "--iterations",
                        "1", "--out", str(out), "--docs", str(docs)])
    assert code == 0
    _, rows = read_csv(out / "memory.csv")
    (row,) = rows
    assert (int(row["size"]), int(row["width"]), int(row["height"])) == (32, 32, 21)
    assert row["recomputed_blocks"] == "False" and int(row["history"]) == 100
    assert int(row["evaluations"]) == 2  # x_0 and one L-BFGS step
    assert 0 < float(row["planned_mb"]) < float(row["available_mb"])
    assert float(row["rss_peak_mb"]) > float(row["rss_base_mb"]) > 0
    step = ast.literal_eval(row["step_program"])
    assert step["temporaries"] > 0 and step["arguments"] > step["outputs"] > 0
    report = docs.read_text()
    assert "| 32x21 | " in report and "python -m benchmarks.memory --weights" in report
    assert "XLA printed no memory warning" in report


def test_memory_reads_xla_warnings_from_a_log():
    from benchmarks import memory
    log = ("2026-01-01 00:00:00.1: W external/xla/xla/hlo/transforms/simplifiers/"
           "hlo_rematerialization.cc:3021] Can't reduce memory use below 129.00GiB by "
           "rematerialization; only reduced to 140.00GiB\n"
           "W0000 00:00:1.2 1 cpu_client.cc:12] unrelated\n"
           "a traceback line that mentions memory] here\n")
    assert memory.xla_warnings(log) == [
        "Can't reduce memory use below 129.00GiB by rematerialization; only reduced to 140.00GiB"]
    rows = [{"size": 1024, "xla_warnings": memory.xla_warnings(log)}]
    assert memory.warnings_section(rows)[-1].startswith("- 1024 px: Can't reduce")


# ---------------------------------------------------------------- quality


@pytest.mark.slow
def test_quality_panel_end_to_end_and_reuse(tmp_path, monkeypatch, torch_threads,
                                            plain_weights_path):
    """One pair at 32 px: both recipes run, are judged against the targets and reach the CSV,
    the report and the contact sheet; with --reuse the second run reads gatys-jax's result
    instead of running it."""
    need_torch()
    import gatys_jax
    from benchmarks import panel, quality
    monkeypatch.setattr(panel, "RESULTS", tmp_path / "results")  # the classic recipe's cache
    out, docs, sheet = tmp_path / "q", tmp_path / "docs" / "quality.md", tmp_path / "sheet.jpg"
    argv = ["--size", "32", "--iterations", "5", "--pairs", "chelsea+starry_night",
            "--threads", "1", "--out", str(out), "--docs", str(docs), "--sheet", str(sheet)]
    assert quality.main(argv) == 0
    _, (row,) = read_csv(out / "quality.csv")
    assert row["pair"] == "chelsea+starry_night" and int(row["ours_evaluations"]) == 6
    for who in ("classic", "ours"):
        assert float(row[f"{who}_style_distance"]) > 0 and float(row[f"{who}_speckle"]) > 0
    report = docs.read_text()
    assert "| chelsea+starry_night |" in report and "pairs meeting all three targets" in report
    assert sheet.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert len(list((tmp_path / "results" / "torch_classic").glob("*.json"))) == 1

    def no_run(*args, **kwargs):
        raise AssertionError("gatys-jax ran although --reuse found its result")
    monkeypatch.setattr(gatys_jax, "stylize", no_run)
    assert quality.main(argv + ["--reuse"]) == 0
    assert docs.read_text().split("\n| chelsea")[1] == report.split("\n| chelsea")[1]
    with pytest.raises(AssertionError, match="ran although"):  # other settings run again
        quality.main(argv + ["--reuse", "--content-weight", "1e-2"])


def test_quality_reports_go_to_one_file_per_size():
    """The generated tables and sheets default to docs/quality_<size>.*, so a panel at one
    size never overwrites another's or the hand-written docs/quality.md."""
    from benchmarks import quality
    for size in (256, 512):
        args, _ = quality.parse_args(["--size", str(size)])
        assert Path(args.docs).name == f"quality_{size}.md"
        assert Path(args.sheet).name == f"quality_{size}.jpg"
    args, _ = quality.parse_args(["--docs", "x.md", "--sheet", "y.jpg"])
    assert (args.docs, args.sheet) == ("x.md", "y.jpg")


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


# ---------------------------------------------------------------- L-BFGS-B against L-BFGS


@pytest.mark.slow
def test_bounds_end_to_end(tmp_path, plain_weights_path):
    """Two pairs at 32 px: both optimizers from each seed's start; the saved picture's loss
    over the optimizer's reaches the CSV, and lbfgsb / lbfgs over the panel the report with
    its contact sheet (under 200 KB)."""
    from benchmarks import bounds
    out, docs = tmp_path / "bounds", tmp_path / "docs" / "bounds.md"
    code = bounds.main(["--weights", str(plain_weights_path), "--size", "32", "--iterations",
                        "30", "--pairs", "chelsea+starry_night,coffee+shipwreck",
                        "--out", str(out), "--docs", str(docs)])
    assert code == 0
    _, rows = read_csv(out / "bounds.csv")
    assert [(r["pair"], r["optimizer"]) for r in rows] == [
        ("chelsea+starry_night", "lbfgs"), ("chelsea+starry_night", "lbfgsb"),
        ("coffee+shipwreck", "lbfgs"), ("coffee+shipwreck", "lbfgsb")]
    for r in rows:
        assert int(r["evaluations"]) == 31
        assert float(r["saved_loss_ratio"]) == pytest.approx(
            float(r["saved_loss"]) / float(r["optimizer_loss"]))
        assert 0 <= float(r["clipped_channels"]) <= 1
        assert_png(out / f"{r['pair']}_seed0_{r['optimizer']}.png")
    report = docs.read_text()
    assert "loss of the picture as saved: median" in report and "(2 runs)" in report
    assert "| chelsea+starry_night | 0 | lbfgsb |" in report
    sheet = docs.with_suffix(".jpg")
    assert sheet.is_file() and sheet.stat().st_size <= 200_000 and sheet.name in report


def test_a_signal_ends_the_bounds_panel_without_a_report(tmp_path, monkeypatch,
                                                         plain_weights_path):
    """A run stopped by SIGTERM (stylize returns it as interrupted) ends the whole panel with
    128 + the signal, and no report is written from the runs it has."""
    import signal
    import types

    from benchmarks import bounds
    monkeypatch.setattr(bounds.gatys_jax, "stylize", lambda *args, **kwargs: types.SimpleNamespace(
        interrupted=int(signal.SIGTERM)))
    docs = tmp_path / "bounds.md"
    with pytest.raises(SystemExit) as exit_info:
        bounds.main(["--weights", str(plain_weights_path), "--size", "32", "--pairs",
                     "chelsea+starry_night", "--out", str(tmp_path / "out"), "--docs", str(docs)])
    assert exit_info.value.code == 128 + signal.SIGTERM
    assert not docs.exists()


def test_a_cut_short_quality_run_is_never_kept(tmp_path, monkeypatch):
    """benchmarks.quality keeps each run for reuse: one that a signal cut short ends the
    benchmark (128 + the signal) and leaves no record to be reused."""
    import signal
    import types

    from benchmarks import quality
    from gatys_jax.config import StyleConfig
    monkeypatch.setattr(quality.gatys_jax, "stylize", lambda *args, **kwargs: types.SimpleNamespace(
        interrupted=int(signal.SIGINT)))
    with pytest.raises(SystemExit) as exit_info:
        quality.ours_run(("chelsea", "starry_night"), StyleConfig(size=32), tmp_path, reuse=True)
    assert exit_info.value.code == 128 + signal.SIGINT
    assert not (tmp_path / "ours").exists()


# ---------------------------------------------------------------- batching and controls


@pytest.mark.slow
def test_batching_end_to_end(capsys, plain_weights_path):
    """One size, batches of 1 and 2: a table row per case with its per-image seconds, their
    ratio and the compile times apart."""
    from benchmarks import batching
    batching.main(["--weights", str(plain_weights_path), "--sizes", "32", "--batches", "1,2",
                   "--iterations", "2", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert "2 iterations, median of 1" in lines[0]
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| 32 |")]
    assert [int(r[1]) for r in rows] == [1, 2]
    for row in rows:
        batched, sequential, ratio = (float(v) for v in row[2:5])
        assert batched > 0 and sequential > 0
        # The seconds are printed to 0.0005 and the ratio to 0.005, both rounded from the
        # unrounded times, so the printed ratio lies within the rounding of the printed times.
        lowest = (batched - 0.0005) / (sequential + 0.0005) - 0.005
        highest = (batched + 0.0005) / (sequential - 0.0005) + 0.005
        assert lowest <= ratio <= highest
        assert all(float(v) > 0 for v in row[6].split(","))


@pytest.mark.slow
def test_controls_end_to_end(tmp_path, plain_weights_path):
    """At 48 px (style scale 0.5 needs 16 px a side): a cost row per control, the colour and
    style-scale measurements, and four contact sheets (under 150 KB each) linked from the
    report."""
    from benchmarks import controls
    pictures, docs = tmp_path / "pictures", tmp_path / "controls.md"
    code = controls.main(["--weights", str(plain_weights_path), "--size", "48", "--iterations",
                          "3", "--repeats", "1", "--pictures", str(pictures), "--docs",
                          str(docs)])
    assert code == 0
    report = docs.read_text()
    for control in ("plain", "blend of 2 styles", "style scale 2", "luminance colours",
                    "histogram colours", "masks, 2 regions"):
        assert f"| {control} | " in report
    assert "| plain | " in report and " | 1.00 |" in report
    assert "plain " in report and "luminance " in report and "histogram " in report
    assert "F 0.5: " in report and "F 2: " in report
    for name in ("colours", "blend", "style_scale", "masks"):
        sheet = pictures / f"{name}.jpg"
        assert sheet.is_file() and sheet.stat().st_size <= controls.PICTURE_BYTES
        assert f"![{name}](controls/{name}.jpg)" in report
