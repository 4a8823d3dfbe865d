"""`stylize` end to end with the real weights on a 64 px image (the cat photo + starry night).

Every `stylize` call compiles its own steps (several seconds on CPU), so the runs are few and
shared between tests through a module-scoped cache.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gatys_jax.errors import GatysError
from gatys_jax.io import images
from gatys_jax.io import inputs as inputs_lib
from gatys_jax.problem import read_inputs
from gatys_jax.transfer import stylize

from conftest import CONTENT, STYLE

SIZE = 64
ITERATIONS = 49  # 50 evaluations
SHAPE = (43, 64)  # the cat photo (300x451) at long side 64

real_weights = pytest.mark.real_weights


def prepare_images(content, style, size):
    """(content, style) as `stylize` prepares them."""
    content, (style,) = read_inputs(content, [style], size)
    return content, style


@pytest.fixture(scope="module")
def inputs():
    return CONTENT, STYLE


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("stylize")


@pytest.fixture(scope="module")
def runs(inputs, normalized_weights_path, plain_weights_path, out_dir):
    """run(name) -> (image, metrics), each named run computed once per module."""
    content, style = inputs
    settings = {
        "lbfgs_normalized": dict(optimizer="lbfgs", weights=normalized_weights_path),
        "adam_normalized": dict(optimizer="adam", weights=normalized_weights_path),
        "lbfgs_plain": dict(optimizer="lbfgs", weights=plain_weights_path),
        "lbfgs_plain_preconditioned": dict(optimizer="lbfgs", weights=plain_weights_path,
                                           precondition=0.5),
        "adam_plain": dict(optimizer="adam", weights=plain_weights_path),
        # the first again, writing its output and intermediate images
        "lbfgs_normalized_again": dict(optimizer="lbfgs", weights=normalized_weights_path,
                                       output=out_dir / "out.png", save_every=20),
        # weights=None: the default, weights/vgg19.h5
        "initial_seed1": dict(iterations=0, seed=1, weights=None),
        "init_content": dict(iterations=0, init="content"),
        "init_style": dict(iterations=0, init="style"),
    }
    cache = {}

    def run(name):
        if name not in cache:
            # the paper's lambda and uniform noise start: the losses tested here are the paper's
            kwargs = {"size": SIZE, "iterations": ITERATIONS, "seed": 0, "content_weight": 1e-3,
                      "noise_scale": 1.0, **settings[name]}
            result = stylize(content, style, **kwargs)
            cache[name] = (result.image, result.to_json())
        return cache[name]

    return run


@real_weights
@pytest.mark.parametrize("name", ["lbfgs_normalized", "adam_normalized", "lbfgs_plain",
                                  "lbfgs_plain_preconditioned", "adam_plain"])
def test_fifty_evaluations_lower_the_loss_by_ninety_percent(runs, name):
    _, metrics = runs(name)
    assert metrics["evaluations"] == 50
    initial = metrics["history"][0]["total_loss"]
    assert metrics["total_loss"] <= 0.1 * initial, (
        f"{name}: total loss {metrics['total_loss']:.4g} from {initial:.4g} "
        f"({metrics['total_loss'] / initial:.1%} left)")


@real_weights
def test_metrics(runs):
    image, m = runs("lbfgs_normalized")
    for key in ("content_loss", "style_loss", "total_loss", "evaluations", "iterations",
                "wall_seconds", "compile_seconds", "size", "history"):
        assert key in m, key
    assert image.dtype == np.uint8 and image.shape == SHAPE + (3,)
    assert m["size"] == list(SHAPE)
    assert m["evaluations"] == 50 and m["iterations"] == 49
    assert isinstance(m["evaluations"], int) and isinstance(m["iterations"], int)
    assert m["wall_seconds"] > 0 and m["compile_seconds"] > 0
    assert m["run"]["normalized"] is True
    # Paper definitions: lambda (1e-3 by default) enters only the total.
    assert m["total_loss"] == pytest.approx(1e-3 * m["content_loss"] + m["style_loss"], rel=1e-5)
    assert m["content_loss"] > 0 and m["style_loss"] > 0
    history = m["history"]
    assert isinstance(history, list) and all(set(row) >= {"evaluations", "total_loss", "seconds"}
                                             for row in history)
    assert history[0]["evaluations"] == 1 and history[-1]["evaluations"] == 50
    assert [row["evaluations"] for row in history] == sorted({row["evaluations"] for row in history})
    seconds = [row["seconds"] for row in history]
    assert seconds == sorted(seconds) and seconds[-1] <= m["wall_seconds"]
    assert history[-1]["total_loss"] == pytest.approx(m["total_loss"], rel=1e-6)
    assert all(np.isfinite(row["total_loss"]) for row in history)


@real_weights
def test_plain_and_normalized_weights_differ(runs):
    _, plain = runs("lbfgs_plain")
    _, normalized = runs("lbfgs_normalized")
    assert plain["run"]["normalized"] is False
    # The normalized network's activations are much smaller (mean 1 per filter).
    assert plain["history"][0]["total_loss"] > 100 * normalized["history"][0]["total_loss"]


@real_weights
def test_preconditioner_is_recorded_and_changes_the_run(runs):
    classic_image, classic = runs("lbfgs_plain")
    image, metrics = runs("lbfgs_plain_preconditioned")
    assert classic["settings"]["precondition"] == 0.0  # the default
    assert metrics["settings"]["precondition"] == 0.5
    assert classic["history"][0]["total_loss"] == metrics["history"][0]["total_loss"]  # same x_0
    assert not np.array_equal(image, classic_image)


@real_weights
def test_same_seed_and_settings_give_the_same_image_bit_for_bit(runs):
    image, metrics = runs("lbfgs_normalized")
    again, metrics_again = runs("lbfgs_normalized_again")
    np.testing.assert_array_equal(again, image)
    assert metrics_again["total_loss"] == metrics["total_loss"]
    assert ([row["total_loss"] for row in metrics_again["history"]]
            == [row["total_loss"] for row in metrics["history"]])


def noise_image(seed: int, content: np.ndarray) -> np.ndarray:
    """The initial image `stylize` starts from for this seed, as it would return it."""
    from gatys_jax.io.images import to_uint8
    from gatys_jax.model.convention import CAFFE, from_network, to_network
    from gatys_jax.problem import initial_image
    x0 = to_network(initial_image("noise", seed, content, content), CAFFE)
    return to_uint8(from_network(x0, CAFFE))


@real_weights
def test_zero_iterations_report_the_initial_image(runs, inputs):
    image, m = runs("initial_seed1")
    assert m["evaluations"] == 1 and m["iterations"] == 0
    assert len(m["history"]) == 1 and m["history"][0]["evaluations"] == 1
    assert m["history"][0]["total_loss"] == pytest.approx(m["total_loss"], rel=1e-6)
    assert m["total_loss"] == pytest.approx(1e-3 * m["content_loss"] + m["style_loss"], rel=1e-5)
    assert m["content_loss"] > 0 and m["style_loss"] > 0
    content, _ = prepare_images(*inputs, SIZE)
    np.testing.assert_allclose(image, noise_image(1, content), atol=1)
    # init="content" and "style" with 0 iterations: see test_init_content_and_style


@real_weights
def test_different_seeds_give_different_images(runs, inputs):
    image1, m1 = runs("initial_seed1")
    _, m0 = runs("lbfgs_normalized")  # seed 0
    content, _ = prepare_images(*inputs, SIZE)
    image0 = noise_image(0, content)
    assert np.mean(image0 != image1) > 0.9
    assert m1["total_loss"] != m0["history"][0]["total_loss"]


@real_weights
def test_init_content_and_style(runs, inputs):
    content_rgb, style_rgb = prepare_images(*inputs, SIZE)
    noise = runs("initial_seed1")[1]
    image, m = runs("init_content")
    np.testing.assert_allclose(image, np.round(content_rgb), atol=1)
    assert m["evaluations"] == 1 and m["iterations"] == 0
    assert m["content_loss"] <= 1e-6 * noise["content_loss"]
    assert m["style_loss"] > 0
    image, m = runs("init_style")
    np.testing.assert_allclose(image, np.round(style_rgb), atol=1)
    assert m["style_loss"] <= 1e-6 * noise["style_loss"]
    assert m["content_loss"] > 0


@real_weights
def test_save_every_and_atomic_output(runs, out_dir):
    image, metrics = runs("lbfgs_normalized_again")
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["out.png", "out_00020.png", "out_00040.png"], names  # no temporary files
    with Image.open(out_dir / "out.png") as saved:
        np.testing.assert_array_equal(np.asarray(saved.convert("RGB")), image)
    with Image.open(out_dir / "out_00020.png") as early:
        assert early.size == SHAPE[::-1]
        assert not np.array_equal(np.asarray(early.convert("RGB")), image)


# --- --size: no resampling when the size already fits ----------------------------------------------

def test_content_at_size_and_style_at_content_size_are_not_resampled():
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (48, 64, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (48, 64, 3)).astype(np.float32)
    c, s = prepare_images(content, style, 64)
    np.testing.assert_array_equal(c, content)
    np.testing.assert_array_equal(s, style)
    assert images.resize(content, 48, 64) is content
    # Portrait: the long side is the height.
    tall = np.ascontiguousarray(content.transpose(1, 0, 2))
    c, s = prepare_images(tall, tall, 64)
    np.testing.assert_array_equal(c, tall)
    np.testing.assert_array_equal(s, tall)
    # uint8 input: same values
    c, _ = prepare_images(np.round(content).astype(np.uint8), style, 64)
    np.testing.assert_array_equal(c, np.round(content))


def test_resampling_when_sizes_differ():
    rng = np.random.default_rng(1)
    content = rng.uniform(0, 255, (96, 128, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (50, 70, 3)).astype(np.float32)
    c, s = prepare_images(content, style, 64)
    assert c.shape == (48, 64, 3) and s.shape == (48, 64, 3)
    c, s = prepare_images(content, style, None)  # None: keep the content's size
    np.testing.assert_array_equal(c, content)
    assert s.shape == (96, 128, 3)


def test_image_file_at_size_is_not_resampled(inputs, tmp_path):
    content_name, style_path = inputs
    small = images.save(images.resize_long_side(inputs_lib.read(content_name), 64),
                        tmp_path / "c.png")
    loaded = images.load(small)
    assert max(loaded.shape[:2]) == 64
    c, s = prepare_images(small, style_path, 64)
    np.testing.assert_array_equal(c, loaded)
    assert s.shape == loaded.shape
    c, s = prepare_images(small, small, 64)
    np.testing.assert_array_equal(s, loaded)


@pytest.mark.parametrize("size", [8, 15])
def test_size_too_small(size):
    image = np.zeros((48, 64, 3), np.float32)
    with pytest.raises(GatysError, match="too small"):
        prepare_images(image, image, size)


# --- coarse to fine ------------------------------------------------------------------------------

@real_weights
def test_coarse_to_fine_off_equals_the_single_scale_run(inputs):
    content, style = inputs
    settings = dict(size=32, iterations=4, seed=2)
    one = stylize(content, style, start_size=None, **settings)
    off = stylize(content, style, start_size=32, **settings)
    np.testing.assert_array_equal(off.image, one.image)
    for key in ("evaluations", "total_loss"):
        assert ([row[key] for row in off.to_json()["history"]]
                == pytest.approx([row[key] for row in one.to_json()["history"]]))


@real_weights
def test_coarse_to_fine_runs_every_scale_from_the_last_one(inputs, tmp_path):
    content, style = inputs
    result = stylize(content, style, size=128, start_size=32, iterations=3,
                     output=tmp_path / "out.png", save_every=2)
    metrics = result.to_json()
    assert metrics["run"]["scales"] == [[21, 32], [43, 64], [85, 128]]
    sizes = [tuple(row["size"]) for row in metrics["history"]]
    assert sizes == [(21, 32)] * 4 + [(43, 64)] * 4 + [(85, 128)] * 4  # init + 3 steps each
    assert [row["evaluations"] for row in metrics["history"]] == list(range(1, 13))
    assert result.images[0].evaluations == 12 and result.image.shape == (85, 128, 3)
    # the last scale starts from the one before (already lower), not from the noise start
    first_at_full = metrics["history"][8]["total_loss"]
    noise = stylize(content, style, size=128, start_size=None, iterations=0)
    assert first_at_full < noise.images[0].losses["total_loss"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "out_00002.png"]
