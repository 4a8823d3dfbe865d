"""The paper's normalized VGG19: unit mean activations, exact per-filter scaling, dead filters."""

import ast
import os

import jax
import numpy as np
import pytest

from gatys_jax import cli
from gatys_jax.errors import GatysError
from gatys_jax.io import images, samples
from gatys_jax.model.convention import CAFFE, to_network
from gatys_jax.model.layers import LAYERS
from gatys_jax.model.vgg import VGG19, variables
from gatys_jax.weights import h5, normalize

from conftest import CONTENT, random_weights


@pytest.fixture(scope="module")
def calibration() -> list[np.ndarray]:
    return normalize.calibration_images()


@pytest.fixture(scope="module")
def real(plain_weights_path, calibration):
    """(plain, plain means, normalized, dead filters): one calibration pass (about 6 s)."""
    plain = h5.load(plain_weights_path)
    means = normalize.mean_activations(plain, calibration)
    normalized, dead = normalize.rescale(plain, means)
    return plain, means, normalized, dead


@pytest.fixture(scope="module")
def normalized_means(real, calibration):
    """The normalized network's means: a second calibration pass (about 6 s)."""
    return normalize.mean_activations(real[2], calibration)


def test_calibration_images_are_deterministic_photographs(calibration):
    assert len(calibration) == len(normalize.CALIBRATION_IMAGES)
    again = normalize.calibration_images()
    for image, same in zip(calibration, again):
        assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] == 3
        assert max(image.shape[:2]) == normalize.CALIBRATION_SIZE
        assert 0 <= image.min() and image.max() <= 255 and image.std() > 10
        np.testing.assert_array_equal(image, same)


@pytest.mark.real_weights
def test_every_live_filter_has_mean_activation_one(real, normalized_means):
    _, means, normalized, dead = real
    for layer in LAYERS:
        dead_here = dead.get(layer, [])
        alive = np.ones(len(means[layer]), bool)
        alive[dead_here] = False
        got = normalized_means[layer][alive]
        worst = np.abs(got - 1).max()
        assert worst < 1e-3, f"{layer}: mean activation off 1 by {worst:.2e}"
        # Dead filters: reported, (nearly) never active, left at scale 1.
        for index in dead_here:
            assert means[layer][index] <= normalize.DEAD_FRACTION * np.median(means[layer])
            assert normalized.normalization[layer][index] == 1.0
            assert normalized_means[layer][index] == pytest.approx(means[layer][index], abs=1e-6)
    # The Caffe VGG19 has few dead filters: a broken threshold would report many.
    assert sum(len(v) for v in dead.values()) < 10
    assert ast.literal_eval(normalized.metadata["dead_filters"]) == dead


@pytest.mark.real_weights
@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_normalized_activations_are_plain_ones_divided_by_the_scales(real, pooling):
    plain, _, normalized, _ = real
    photo = images.resize_long_side(samples.load(CONTENT), 96)
    x = to_network(photo, CAFFE)[None]
    forward = jax.jit(lambda p, x: VGG19(pooling=pooling).apply(variables(p), x, LAYERS))
    a, b = forward(plain.params, x), forward(normalized.params, x)
    for layer in LAYERS:
        scale = normalized.normalization[layer]
        expected = np.asarray(a[layer]) / scale
        got = np.asarray(b[layer])
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(),
                                   err_msg=f"{layer}, {pooling} pooling")


@pytest.mark.real_weights
def test_project_normalized_file_is_what_normalize_makes(real, normalized_weights_path):
    _, means, normalized, _ = real
    shipped = h5.load(normalized_weights_path)
    assert shipped.convention == normalized.convention
    for layer in LAYERS:
        np.testing.assert_allclose(shipped.normalization[layer], normalized.normalization[layer],
                                   rtol=1e-5)
        np.testing.assert_allclose(shipped.params[layer]["kernel"],
                                   normalized.params[layer]["kernel"], rtol=1e-5, atol=1e-7)


@pytest.mark.real_weights
def test_normalizing_twice_is_refused(real):
    with pytest.raises(GatysError, match="already normalized"):
        normalize.normalize(real[2])


# ---------------------------------------------------------------- a synthetic dead filter

DEAD = 17  # conv1_1 filter made dead


def dead_filter_weights() -> h5.VGGWeights:
    w = random_weights(4)
    w.params["conv1_1"]["bias"][DEAD] = -1e6  # never positive on any 0..255 image
    return w


def small_calibration() -> list[np.ndarray]:
    """Two images of one shape, so the calibration pass compiles once."""
    rng = np.random.default_rng(9)
    return [rng.uniform(0, 255, (32, 32, 3)).astype(np.float32) for _ in range(2)]


def test_dead_filter_is_reported_left_at_scale_one_and_nothing_divides_by_zero():
    plain = dead_filter_weights()
    calibration = small_calibration()
    plain_means = normalize.mean_activations(plain, calibration)
    assert plain_means["conv1_1"][DEAD] == 0
    with np.errstate(all="raise"):  # any 0/0 or x/0 raises FloatingPointError
        normalized, dead = normalize.rescale(plain, plain_means)
    # A random network at 32 px also has deep filters that never fire on two images: those
    # are reported too; conv1_1's only dead filter is the one made so.
    assert dead["conv1_1"] == [DEAD]
    for layer, filters in dead.items():
        assert np.all(normalized.normalization[layer][filters] == 1.0), layer
    for layer in LAYERS:
        assert np.all(normalized.normalization[layer] > 0), layer
    for layer in LAYERS:
        for name in ("kernel", "bias"):
            assert np.all(np.isfinite(normalized.params[layer][name])), (layer, name)
    # The dead filter's bias and its outgoing weights in conv1_2 are divided by 1 and by
    # conv1_2's scales only.
    assert normalized.params["conv1_1"]["bias"][DEAD] == np.float32(-1e6)
    np.testing.assert_allclose(
        normalized.params["conv1_2"]["kernel"][:, :, DEAD, :],
        plain.params["conv1_2"]["kernel"][:, :, DEAD, :] / normalized.normalization["conv1_2"],
        rtol=1e-6)
    # Every live filter of the normalized network has mean 1; the dead ones stay (near) 0.
    means = normalize.mean_activations(normalized, calibration)
    assert means["conv1_1"][DEAD] == 0
    for layer in LAYERS:
        filters = dead.get(layer, [])
        np.testing.assert_allclose(np.delete(means[layer], filters), 1.0, atol=1e-3,
                                   err_msg=layer)
        threshold = normalize.DEAD_FRACTION * np.median(plain_means[layer])
        assert np.all(plain_means[layer][filters] <= threshold), layer
        # Unscaled, a dead filter's normalized mean is its plain mean.
        np.testing.assert_allclose(means[layer][filters], plain_means[layer][filters],
                                   rtol=1e-3, atol=1e-9, err_msg=layer)
        assert np.all(np.isfinite(means[layer])), layer


def test_cli_normalize_warns_about_dead_filters(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(normalize, "calibration_images", small_calibration)
    source = h5.save(dead_filter_weights(), tmp_path / "plain.h5")
    out = tmp_path / "normalized.h5"
    assert cli.main(["weights", "normalize", str(source), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"wrote {out}\n"
    warnings = captured.err.strip().split("\n")
    assert warnings[0].startswith("warning: conv1_1 has 1 filter")
    assert warnings[0].endswith(f"[{DEAD}]")
    assert all(line.startswith("warning: conv") for line in warnings)  # one line per layer
    loaded = h5.load(out)
    assert loaded.normalization["conv1_1"][DEAD] == 1.0
    reported = ast.literal_eval(loaded.metadata["dead_filters"])
    assert reported["conv1_1"] == [DEAD] and len(reported) == len(warnings)
    assert sorted(os.listdir(tmp_path)) == ["normalized.h5", "plain.h5"]


def test_cli_normalize_refuses_a_folder_before_the_pass(tmp_path, capsys, monkeypatch):
    def calibrate():
        raise AssertionError("the calibration pass ran before the output path was checked")
    monkeypatch.setattr(normalize, "calibration_images", calibrate)
    source = h5.save(dead_filter_weights(), tmp_path / "plain.h5")
    assert cli.main(["weights", "normalize", str(source), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is a folder" in err, err
    assert sorted(os.listdir(tmp_path)) == ["plain.h5"]
