"""Issue 5: scripts/compare_optimizers.py and scripts/bench_vs_torch.py run end to end at a tiny
size and write their CSV, PNG and Markdown; every evaluation is counted; PyTorch and JAX start
from the same loss. Also the helpers they share with bench_stylize and bench_features."""

import csv
import importlib
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from conftest import require

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

common = importlib.import_module("bench_common")

PNG = b"\x89PNG\r\n\x1a\n"
FIRST_LOSS_RTOL = 1e-4


def need_torch():
    """Skip without torch outside CI; in CI a missing torch fails (conftest.require)."""
    require(importlib.util.find_spec("torch") is not None,
            "torch is not installed (pip install -e '.[torch]')")


@pytest.fixture
def torch_threads():
    """The scripts set torch's thread count in this process: restore it afterwards."""
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
    # conv FLOPs at 512x384 through conv5_1, forward + input gradient (DESIGN.md: ~285 GFLOP)
    assert 2 * common.forward_flops(384, 512) / 1e9 == pytest.approx(284.1, abs=0.1)
    layers = ("conv4_2", "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    style = layers[1:]
    grams = sum(4 * (384 >> b) * (512 >> b) * n * n
                for b, n in zip(range(5), (64, 128, 256, 512, 512)))
    assert common.objective_flops(384, 512, layers, style) == \
        2 * common.forward_flops(384, 512) + grams
    history = [{"evaluations": 1, "seconds": 0.5, "total_loss": 9.0},
               {"evaluations": 4, "seconds": 1.0, "total_loss": 5.0},
               {"evaluations": 5, "seconds": 2.0, "total_loss": 6.0}]
    assert common.loss_at(history, 3) == 9.0
    assert common.loss_at(history, 1.5, key="seconds") == 5.0
    assert common.loss_at(history, 0.1, key="seconds") is None
    assert common.first_reaching(history, 5.5) == (4, 1.0)
    assert common.first_reaching(history, 1.0) == (None, None)


def test_older_benchmarks_import_the_shared_helpers():
    import bench_features
    import bench_stylize
    assert bench_features.forward_flops is common.forward_flops
    assert bench_features.time_round_robin is common.time_round_robin
    assert bench_stylize.first_reaching is common.first_reaching
    assert bench_stylize.loss_at is common.loss_at


def test_bad_arguments_give_one_line_errors(capsys):
    import bench_vs_torch
    import compare_optimizers
    for main, argv, words in (
            (compare_optimizers.main, ["--methods", "jax_lbfgs,newton"], "unknown method"),
            (compare_optimizers.main, ["--seeds", "3-1"], "seed"),
            (compare_optimizers.main, ["--evaluations", "1"], "--evaluations"),
            (compare_optimizers.main, ["--adam-lrs", "1,x"], "--adam-lrs"),
            (bench_vs_torch.main, ["--sizes", "8,32"], "--sizes"),
            (bench_vs_torch.main, ["--dtypes", "bfloat16"], "--dtypes"),
            (bench_vs_torch.main, ["--precondition", "3"], "--precondition"),
            (bench_vs_torch.main, ["--weights", "/nonexistent.h5"], "--weights")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].count("error:") == 1 and words in err[-1], err
        assert "Traceback" not in "\n".join(err)


# ---------------------------------------------------------------- compare_optimizers


def test_optax_steps_count_every_evaluation(plain_weights_path, shared_images):
    """The evaluation count an optax step reports equals the number of times the objective
    really ran (a host callback in the objective), line-search trials included."""
    import compare_optimizers
    import jax
    import jax.numpy as jnp

    from gatys_jax import weights as weights_io

    vgg = weights_io.load(plain_weights_path)
    setting = common.setting(shared_images / "tubingen.jpg",
                             shared_images / "starry_night.jpg", 32, vgg)
    problem = compare_optimizers.make_problem(vgg, setting, 1e-3, "avg")
    x0 = setting.x0("noise", 0)
    args = (problem.net, problem.targets, problem.weights)
    for family in compare_optimizers.LINE_SEARCH:
        calls = []
        init, step, _ = compare_optimizers.compile_optax(
            family, problem, x0, 100, None, on_value=lambda v, calls=calls: calls.append(v))
        state = init(jnp.asarray(x0), *args)
        counts = [int(state.evaluations)]
        for _ in range(3):
            state = step(state, *args)
            counts.append(int(state.evaluations))
        jax.effects_barrier()
        assert counts[0] == 1 and np.all(np.diff(counts) >= 1), (family, counts)
        assert counts[-1] == len(calls), (family, counts, len(calls))


def test_compare_optimizers_end_to_end(tmp_path, torch_threads, plain_weights_path,
                                       shared_images):
    import compare_optimizers
    n, seeds = 5, (0, 1)
    out, docs = tmp_path / "compare", tmp_path / "docs" / "optimizers.md"
    code = compare_optimizers.main([
        "--content", str(shared_images / "tubingen.jpg"),
        "--style", str(shared_images / "starry_night.jpg"),
        "--weights", str(plain_weights_path), "--size", "32", "--evaluations", str(n),
        "--seeds", ",".join(map(str, seeds)), "--adam-lrs", "10", "--threads", "1",
        "--out", str(out), "--docs", str(docs)])
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
               "optax_lbfgs_backtracking",
               "optax_adabelief", "torch_lbfgs", "torch_adam"}
    assert set(curves) == {(m, s) for m in methods for s in seeds}
    for (method, seed), curve in curves.items():
        evals = [e for e, _, _ in curve]
        assert evals[0] == 1 and np.all(np.diff(evals) > 0), (method, evals)
        assert np.all(np.diff([s for _, s, _ in curve]) >= 0), method
        if method in compare_optimizers.LINE_SEARCH:
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
    report = docs.read_text()
    assert table in report and "python scripts/compare_optimizers.py --content" in report


# ---------------------------------------------------------------- bench_vs_torch


def test_bench_vs_torch_end_to_end(tmp_path, torch_threads, plain_weights_path, shared_images):
    import bench_vs_torch
    out, docs = tmp_path / "bench", tmp_path / "docs" / "benchmarks.md"
    n = 4
    code = bench_vs_torch.main([
        "--content", str(shared_images / "tubingen.jpg"),
        "--style", str(shared_images / "starry_night.jpg"),
        "--weights", str(plain_weights_path), "--sizes", "32,48", "--repeats", "1",
        "--full-size", "32", "--full-evaluations", str(n), "--matmul-size", "256",
        "--threads", "1", "--precondition", "0.5", "--out", str(out), "--docs", str(docs)])
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
                 "worth it here", "## Goals", "preconditioned, e 0.5", "saved 8-bit image"):
        assert text in table, text
    import jax
    report = docs.read_text()
    assert f"jax {jax.__version__}" in report and "## Full run" in report
