"""Batches of seeds, styles and lambdas: equal to single runs, one compilation, sharding,
memory chunks, bad input."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gatys_jax import batch, optimize
from gatys_jax.errors import GatysError
from gatys_jax.losses import LossConfig
from gatys_jax.stylize import stylize, stylize_batch

SIZE, ITERATIONS = 32, 8


def test_parse_seeds():
    assert batch.parse_seeds("0,1,2") == [0, 1, 2]
    assert batch.parse_seeds("0-3") == [0, 1, 2, 3]
    assert batch.parse_seeds("5, 0-1") == [5, 0, 1]
    for bad in ["", "a", "3-1", "1,1", "1-", "-2", "0,,1"]:
        with pytest.raises(GatysError):
            batch.parse_seeds(bad)


def test_product_is_style_major():
    jobs = batch.product(2, [1e-3, 1e-2], [0, 1])
    assert len(jobs) == 8
    assert jobs[0] == batch.Job(0, 1e-3, 0) and jobs[-1] == batch.Job(1, 1e-2, 1)
    with pytest.raises(GatysError):
        batch.product(1, [], [0])


def test_chunk_size_fits_splits_and_refuses():
    assert batch.chunk_size(8, per_image=10, num_devices=1, max_batch=None, free=1000) == 8
    assert batch.chunk_size(8, per_image=100, num_devices=1, max_batch=None, free=500) == 3
    assert batch.chunk_size(6, per_image=10, num_devices=4, max_batch=None, free=1000) == 8
    assert batch.chunk_size(8, per_image=10, num_devices=1, max_batch=2, free=1000) == 2
    with pytest.raises(GatysError, match="lower --size"):
        batch.chunk_size(8, per_image=10**12, num_devices=1, max_batch=None, free=10**9)


def test_bytes_per_image_grows_with_size_and_history(tiny_weights):
    config = LossConfig()
    small = batch.bytes_per_image(config, tiny_weights.params, 64, 64, 100, "lbfgs")
    large = batch.bytes_per_image(config, tiny_weights.params, 128, 128, 100, "lbfgs")
    adam = batch.bytes_per_image(config, tiny_weights.params, 128, 128, 100, "adam")
    assert 3.5 < large / small < 4.5 and adam < large
    # the L-BFGS history alone: 2 x 100 image-sized float32 vectors
    assert large > 2 * 100 * 128 * 128 * 3 * 4


@pytest.fixture(scope="module")
def inputs(shared_images):
    return str(shared_images / "tubingen.jpg"), [str(shared_images / "starry_night.jpg"),
                                                 str(shared_images / "shipwreck.jpg")]


def relative(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_each_batch_image_equals_its_single_run(inputs, normalized_weights_path, optimizer):
    content, styles = inputs
    images, metrics = stylize_batch(content, styles, seeds=[0, 1], content_weights=[1e-3, 1e-2],
                                    size=SIZE, iterations=ITERATIONS, optimizer=optimizer)
    assert len(images) == 8 and metrics["batch_size"] == 8
    for image, entry in zip(images, metrics["images"]):
        if entry["seed"] == 0 and entry["style"] == 1 or entry["seed"] == 1 and entry["style"] == 0:
            alone, single = stylize(content, styles[entry["style"]], seed=entry["seed"],
                                    content_weight=entry["content_weight"], size=SIZE,
                                    iterations=ITERATIONS, optimizer=optimizer)
            assert relative(entry["total_loss"], single["total_loss"]) < 1e-5
            assert np.abs(image.astype(int) - alone.astype(int)).max() <= 1


def test_one_compilation_for_all_chunks(inputs, normalized_weights_path, monkeypatch):
    traces = []
    original = optimize.Optimizer.step_fn

    def counting_step_fn(self, config):
        step = original(self, config)

        def traced(*args):
            traces.append(1)
            return step(*args)
        return traced

    monkeypatch.setattr(optimize.Optimizer, "step_fn", counting_step_fn)
    content, styles = inputs
    images, metrics = stylize_batch(content, styles[0], seeds=range(5), size=SIZE, iterations=3,
                                    max_batch=2)
    assert len(images) == 5 and metrics["chunks"] == 3 and metrics["batch_size"] == 2
    assert len(traces) == 1  # one trace of the step for three chunks (the last one padded)


def test_sharded_batch_equals_unsharded(inputs, normalized_weights_path, tmp_path):
    content, styles = inputs
    images, metrics = stylize_batch(content, styles[0], seeds=range(6), size=SIZE,
                                    iterations=ITERATIONS)
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import jax
        from gatys_jax.stylize import stylize_batch
        images, metrics = stylize_batch({content!r}, {styles[0]!r}, seeds=range(6), size={SIZE},
                                        iterations={ITERATIONS})
        np.save({str(tmp_path / "sharded.npy")!r}, np.stack(images))
        print(json.dumps({{"devices": len(jax.devices()), "batch": metrics["batch_size"],
                          "state_devices": metrics["state_devices"],
                          "losses": [e["total_loss"] for e in metrics["images"]]}}))
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["devices"] == 4 and report["state_devices"] == 4
    assert report["batch"] == 8  # 6 padded to a multiple of 4
    sharded = np.load(tmp_path / "sharded.npy")
    assert sharded.shape == (6,) + images[0].shape
    for loss, entry in zip(report["losses"], metrics["images"]):
        assert relative(loss, entry["total_loss"]) < 1e-5
    assert np.abs(sharded.astype(int) - np.stack(images).astype(int)).max() <= 1


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gatys_jax.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize("bad", [["--seeds", ""], ["--seeds", "3-1"], ["--seeds", "a,b"],
                                 ["--style-weights", "0.5,0.5"],
                                 ["--content-weight", "1e-3,-1"]])
def test_bad_batch_arguments(inputs, normalized_weights_path, tmp_path, bad):
    content, styles = inputs
    result = run_cli("stylize", content, styles[0], "-o", str(tmp_path / "out.png"),
                     "--size", str(SIZE), "--iterations", "2", *bad, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_one_image_per_combination(inputs, normalized_weights_path, tmp_path):
    content, styles = inputs
    result = run_cli("stylize", content, "--style", styles[0], "--style", styles[1],
                     "-o", str(tmp_path / "out.png"), "--size", str(SIZE), "--iterations", "2",
                     "--seeds", "0-1", "--content-weight", "1e-3,1e-2", "-q",
                     "--metrics", str(tmp_path / "m.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in tmp_path.glob("out_*.png"))
    assert len(written) == 8 and "out_starry_night_cw0.001_seed0.png" in written
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert len(metrics["images"]) == 8
    assert {e["seed"] for e in metrics["images"]} == {0, 1}
    assert all(e["evaluations"] == 3 for e in metrics["images"])
