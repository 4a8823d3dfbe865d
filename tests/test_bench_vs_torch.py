"""benchmarks.vs_torch end to end at a tiny size: one evaluation against PyTorch by size, with
each case's memory in a fresh process, and the full L-BFGS run from PyTorch's x_0."""

from collections import defaultdict

import jax
import numpy as np
import pytest

import bench_checks
from bench_checks import FIRST_LOSS_RTOL, assert_png, read_csv
from conftest import CONTENT, STYLE

torch_threads = bench_checks.torch_threads  # the fixture, where pytest looks for it


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
