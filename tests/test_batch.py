"""Batches of seeds, styles and lambdas: equal to single runs, one compilation, sharding,
batches that fit in memory, bad input."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gatys_jax import build
from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs, driver
from gatys_jax.errors import GatysError
from gatys_jax.jobs import job_product
from gatys_jax.optim import solvers
from gatys_jax.transfer import stylize, stylize_batch

from conftest import CONTENT, OTHER_STYLE, STYLE

SIZE, ITERATIONS = 32, 8


def test_product_is_style_major_and_refuses_repeats():
    jobs = job_product(StyleConfig(), 2, [1e-3, 1e-2], [0, 1])
    assert len(jobs) == 8
    assert (jobs[0].style, jobs[0].config.content_weight, jobs[0].config.seed) == (0, 1e-3, 0)
    assert (jobs[-1].style, jobs[-1].config.content_weight, jobs[-1].config.seed) == (1, 1e-2, 1)
    with pytest.raises(GatysError):
        job_product(StyleConfig(), 1, [], [0])
    for weights, seeds in (([1e-3, 0.001], [0]), ([1e-3], [2, 2])):
        with pytest.raises(GatysError, match="repeat"):
            job_product(StyleConfig(), 1, weights, seeds)


def memory(total: int) -> costs.Memory:
    return costs.Memory(total, 0, 0)


def test_batch_size_fits_splits_and_refuses():
    fit = lambda jobs, per, devices, max_batch, free: costs.batch_size(
        jobs, memory(per), devices, max_batch, free, 64, 64)
    assert fit(8, 10, 1, None, 1000) == 8
    assert fit(8, 100, 1, None, 500) == 3
    assert fit(6, 10, 4, None, 1000) == 8
    assert fit(8, 10, 1, 2, 1000) == 2
    with pytest.raises(GatysError, match="a much smaller size"):
        fit(8, 10**12, 1, None, 10**9)
    with pytest.raises(GatysError, match="a size of at most 32 px"):  # a quarter of the pixels
        fit(8, 4 * 10**9, 1, None, int(1.01e9 / costs.MEMORY_FRACTION))


def test_memory_per_image_grows_with_size_and_history():
    objective = build.objective_of(StyleConfig())
    lbfgs = solvers.lbfgs_solver(100)
    small = costs.memory_per_image(objective, lbfgs, 64, 64).total
    large = costs.memory_per_image(objective, lbfgs, 128, 128)
    adam = costs.memory_per_image(objective, solvers.named("adam"), 128, 128).total
    assert 3.5 < large.total / small < 4.5 and adam < large.total
    # the L-BFGS history alone: 2 x 100 image-sized float32 vectors
    assert large.solver > 2 * 100 * 128 * 128 * 3 * 4


@pytest.fixture(scope="module")
def inputs():
    return CONTENT, [STYLE, OTHER_STYLE]


def relative(a, b):
    return abs(a - b) / abs(b)


# Batched and single convolutions differ in rounding only. Adam's steps carry it along;
# L-BFGS's curvature pairs (y = g1 - g0) amplify it, and the loss of a picture this early in
# its run is steep, so pixels off by a fraction of a grey level move it well past rounding.
# A batching error (a lambda, a style or a step shared across images) costs far more.
LOSS_TOLERANCE = {"lbfgs": 1e-2, "adam": 1e-5}  # relative


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_each_batch_image_equals_its_single_run(inputs, normalized_weights_path, optimizer):
    content, styles = inputs
    result = stylize_batch(content, styles, seeds=[0, 1], content_weights=[1e-3, 1e-2],
                           size=SIZE, iterations=ITERATIONS, optimizer=optimizer)
    assert len(result.images) == 8 and result.batch_size == 8
    for entry in result.images:
        seed, style = entry.config.seed, styles.index(entry.style)
        if seed == 0 and style == 1 or seed == 1 and style == 0:
            single = stylize(content, styles[style], seed=seed,
                             content_weight=entry.config.content_weight, size=SIZE,
                             iterations=ITERATIONS, optimizer=optimizer)
            assert single.batch_size == 1  # compiled unbatched
            total = single.images[0].losses["total_loss"]
            assert relative(entry.losses["total_loss"], total) < LOSS_TOLERANCE[optimizer]
            assert np.abs(entry.image.astype(int) - single.image.astype(int)).max() <= 1


def test_one_compilation_for_all_batches(inputs, normalized_weights_path, monkeypatch):
    traces = []
    original = driver.step_function

    def counting_step_function(solver, objective):
        step = original(solver, objective)

        def traced(*args):
            traces.append(1)
            return step(*args)
        return traced

    monkeypatch.setattr(driver, "step_function", counting_step_function)
    content, styles = inputs
    result = stylize_batch(content, styles[0], seeds=range(5), size=SIZE, iterations=3,
                           max_batch=2)
    assert len(result.images) == 5 and result.batches == 3 and result.batch_size == 2
    assert len(traces) == 1  # one trace of the step for three batches (the last one padded)


@pytest.mark.subprocess
def test_sharded_batch_equals_unsharded(inputs, normalized_weights_path, tmp_path):
    content, styles = inputs
    result = stylize_batch(content, styles[0], seeds=range(6), size=SIZE, iterations=ITERATIONS)
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import jax
        from gatys_jax.transfer import stylize_batch
        result = stylize_batch({content!r}, {styles[0]!r}, seeds=range(6), size={SIZE},
                               iterations={ITERATIONS})
        np.save({str(tmp_path / "sharded.npy")!r}, np.stack([e.image for e in result.images]))
        metrics = result.to_json()
        print(json.dumps({{"devices": len(jax.devices()), "batch": metrics["batch_size"],
                          "state_devices": metrics["state_devices"],
                          "losses": [e["total_loss"] for e in metrics["images"]]}}))
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, timeout=600)
    assert process.returncode == 0, process.stderr[-2000:]
    report = json.loads(process.stdout.strip().splitlines()[-1])
    assert report["devices"] == 4 and report["state_devices"] == 4
    assert report["batch"] == 8  # 6 padded to a multiple of 4
    sharded = np.load(tmp_path / "sharded.npy")
    unsharded = np.stack([entry.image for entry in result.images])
    assert sharded.shape == unsharded.shape and len(unsharded) == 6
    for loss, entry in zip(report["losses"], result.images):
        assert relative(loss, entry.losses["total_loss"]) < 1e-5
    assert np.abs(sharded.astype(int) - unsharded.astype(int)).max() <= 1


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gatys_jax.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


@pytest.mark.subprocess
@pytest.mark.parametrize("bad", [["--seeds", ""], ["--seeds", "3-1"], ["--seeds", "a,b"],
                                 ["--style-weights", "0.5,0.5"],
                                 ["--content-weight", "1e-3,-1"],
                                 ["--content-weight", "1e-3,0.001"]])
def test_bad_batch_arguments(inputs, normalized_weights_path, tmp_path, bad):
    content, styles = inputs
    result = run_cli("stylize", content, styles[0], "-o", str(tmp_path / "out.png"),
                     "--size", str(SIZE), "--iterations", "2", *bad, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.subprocess
def test_cli_writes_one_image_per_combination(inputs, normalized_weights_path, tmp_path):
    content, styles = inputs
    result = run_cli("stylize", content, "--style", styles[0], "--style", styles[1],
                     "-o", str(tmp_path / "out.png"), "--size", str(SIZE), "--iterations", "2",
                     "--seeds", "0-1", "--content-weight", "1e-3,1e-2", "-q",
                     "--metrics", str(tmp_path / "m.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in tmp_path.glob("out_*.png"))
    assert len(written) == 8 and f"out_{STYLE}_cw0.001_seed0.png" in written
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert len(metrics["images"]) == 8
    assert {e["seed"] for e in metrics["images"]} == {0, 1}
    assert all(e["evaluations"] == 3 for e in metrics["images"])
