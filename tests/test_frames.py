"""Frames of a video: a batch of every frame, or frame after frame from the previous result,
and the flicker measure."""

import json

import numpy as np
import pytest

from gatys_jax import frames
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import images, inputs

from conftest import random_weights

CONFIG = StyleConfig(size=32, start_size=None, iterations=4)


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    """Four frames panning across a bundled photograph, 4 px a frame."""
    folder = tmp_path_factory.mktemp("footage")
    photo = inputs.read("astronaut")[::4, ::4]  # 128 x 128
    for index in range(4):
        images.save(photo[16:80, 4 * index: 4 * index + 64], folder / f"frame_{index:03d}.png")
    return folder


def test_the_flicker_measure_on_synthetic_sequences():
    still = [np.full((8, 8, 3), 100.0)] * 3
    ramp = [np.full((8, 8, 3), 100.0 + 10 * t) for t in range(3)]
    assert frames.mean_change(ramp) == pytest.approx(10.0)
    measured = frames.flicker([np.full((8, 8, 3), 50.0 + 20 * t) for t in range(3)], ramp)
    assert measured == {"stylized_change": pytest.approx(20.0),
                        "photo_change": pytest.approx(10.0), "flicker": pytest.approx(2.0)}
    assert frames.flicker(ramp, still)["flicker"] is None


@pytest.mark.parametrize("coherent", [False, True], ids=["batch", "coherent"])
def test_every_frame_is_stylized_in_order_with_its_flicker(footage, tmp_path, coherent):
    out = tmp_path / "out"
    done = frames.stylize_frames(footage, "starry_night", CONFIG, out, coherent=coherent,
                                 vgg=random_weights(), metrics=tmp_path / "frames.json")
    assert [p.name for p in done.outputs] == [f"frame_{i:03d}.png" for i in range(4)]
    written = [images.load(p) for p in done.outputs]
    assert all(image.shape == (32, 32, 3) for image in written)
    assert len(done.results) == (4 if coherent else 1)
    metrics = json.loads((tmp_path / "frames.json").read_text())
    assert metrics["coherent"] is coherent and metrics["flicker"] == pytest.approx(
        frames.mean_change(written) / metrics["photo_change"], rel=1e-2)
    if coherent:  # each frame after the first starts from the one before
        first_x0 = done.results[1].images[0].history[0]["total_loss"]
        assert first_x0 < done.results[0].images[0].history[0]["total_loss"]


def test_frames_of_one_size_only_and_at_least_two(tmp_path, footage):
    (tmp_path / "one").mkdir()
    images.save(np.zeros((32, 32, 3)), tmp_path / "one" / "a.png")
    with pytest.raises(GatysError, match="holds 1 image.*at least two"):
        frames.stylize_frames(tmp_path / "one", "starry_night", CONFIG, tmp_path / "out")
    images.save(np.zeros((32, 64, 3)), tmp_path / "one" / "b.png")
    with pytest.raises(GatysError, match="must give one output size"):
        frames.stylize_frames(tmp_path / "one", "starry_night", CONFIG, tmp_path / "out",
                              vgg=random_weights())
    assert not (tmp_path / "out").exists()
