"""Runs that replay from their record: the record in every metrics file, settings files that
load back exactly, and a replay that gives the same pixels."""

import json
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatys_jax import record, replay, settings_file
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import images, inputs
from gatys_jax.transfer import stylize_batch
from gatys_jax.weights import h5

from conftest import random_weights

RUN = dict(size=32, start_size=16, iterations=3)


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """A two-image run (two seeds) on a photograph file, a sample and a saved random network,
    with its metrics file."""
    folder = tmp_path_factory.mktemp("run")
    weights = h5.save(random_weights(), folder / "net.h5")
    photo = images.save(inputs.read("astronaut")[::8, ::8], folder / "photo.png")
    result = stylize_batch(photo, ["starry_night"], StyleConfig(weights=weights, **RUN),
                           seeds=[0, 5], output=folder / "out.png",
                           metrics=folder / "run.json")
    return folder, result


def test_a_metrics_file_records_every_input_the_weights_and_the_machine(recorded_run):
    folder, result = recorded_run
    metrics = json.loads((folder / "run.json").read_text())
    kept = metrics["record"]
    photo = inputs.read(folder / "photo.png")
    assert kept["inputs"] == [
        {"role": "content", "source": str(folder / "photo.png"), "sample": False,
         "pixels_sha256": record.pixels_sha256(photo), "size": list(photo.shape[:2])},
        {"role": "style", "source": "starry_night", "sample": True,
         "pixels_sha256": record.pixels_sha256(inputs.read("starry_night")),
         "size": [320, 512]}]
    assert kept["weights"]["file"] == str(folder / "net.h5")
    assert kept["weights"]["data_sha256"] == h5.load(folder / "net.h5").metadata[h5.DIGEST]
    assert {"python", "gatys-jax", "jax", "jaxlib", "flax", "optax", "numpy"} <= set(
        kept["versions"])
    assert kept["backend"] == "cpu" and kept["devices"][0]["platform"] == "cpu"
    assert "git_commit" in kept and isinstance(kept["argv"], list)
    # the settings are the run's StyleConfig, nothing more
    assert StyleConfig(**metrics["settings"]) == result.config.replace(
        weights=str(folder / "net.h5"))
    assert metrics["run"]["seeds"] == [0, 5] and metrics["run"]["scales"] == [[16, 16], [32, 32]]


def test_a_replay_gives_the_same_pixels_bit_for_bit(recorded_run, tmp_path):
    folder, result = recorded_run
    again = replay.replay(replay.Recorded(folder / "run.json"), tmp_path / "again.png",
                          new_metrics=tmp_path / "again.json")
    assert len(again.images) == 2
    for first, second in zip(result.images, again.images):
        assert first.config.seed == second.config.seed
        np.testing.assert_array_equal(first.image, second.image)
        written = images.load(second.output)
        np.testing.assert_array_equal(written, images.load(first.output))
    # the replay's own record replays too, and its settings are the same
    assert (json.loads((tmp_path / "again.json").read_text())["settings"]
            == json.loads((folder / "run.json").read_text())["settings"])


def test_a_replay_refuses_an_input_or_weights_that_changed(recorded_run, tmp_path):
    folder, _ = recorded_run
    metrics = json.loads((folder / "run.json").read_text())
    photo = images.save(inputs.read(folder / "photo.png")[::-1], tmp_path / "photo.png")
    moved = {**metrics, "record": {**metrics["record"], "inputs": [
        {**metrics["record"]["inputs"][0], "source": str(photo)},
        metrics["record"]["inputs"][1]]}}
    (tmp_path / "moved.json").write_text(json.dumps(moved))
    with pytest.raises(GatysError, match="content .* is not the image the run read"):
        replay.replay(replay.Recorded(tmp_path / "moved.json"), tmp_path / "x.png")
    other = h5.save(random_weights(seed=3), tmp_path / "other.h5")
    swapped = {**metrics, "settings": {**metrics["settings"], "weights": str(other)}}
    (tmp_path / "swapped.json").write_text(json.dumps(swapped))
    with pytest.raises(GatysError, match="are not the ones the run used"):
        replay.replay(replay.Recorded(tmp_path / "swapped.json"), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


CONFIGS = [StyleConfig(), StyleConfig.paper(size=64),
           StyleConfig(size=None, start_size=None, stop_tolerance=1e-3, stop_pixels=0.5,
                       optimizer="optax:adabelief", learning_rate=2.0, blend=(1, 3),
                       style_weights=(1, 2, 3, 4, 5), content_layer=None,
                       preserve_colors="luminance", content_mask="m.png",
                       style_mask=("a.png", "b.png"), weights=Path("w/x.h5"), seed=7)]


@pytest.mark.parametrize("suffix", [".json", ".toml"])
@pytest.mark.parametrize("config", CONFIGS, ids=["defaults", "paper", "everything"])
def test_settings_files_load_back_exactly(tmp_path, config, suffix):
    path = settings_file.write(config, tmp_path / f"settings{suffix}")
    back = settings_file.read(path)
    assert back.to_json() == config.to_json()
    assert settings_file.read(path, seed=3).seed == 3  # overrides win


@pytest.mark.parametrize("text, suffix, words", [
    ('size = "big"', ".toml", "size must be an integer"),
    ("colour = 1", ".toml", "unknown setting 'colour'"),
    ("[1, 2]", ".json", "must hold a table"),
    ("size = ", ".toml", "cannot read settings file"),
    ('{"init": "grey"}', ".json", "init 'grey' is unknown"),
    ('{"blend": []}', ".json", "blend must be non-negative with a positive sum"),
    ("size: 3", ".yaml", "must end in .json or .toml"),
])
def test_a_bad_settings_file_is_one_line(tmp_path, text, suffix, words):
    path = tmp_path / f"s{suffix}"
    path.write_text(text)
    with pytest.raises(GatysError, match=words):
        settings_file.read(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
    | st.text(string.printable, max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["size", "seed", "role", "source", "inputs", "settings", "run",
                         "record", "weights", "seeds", "content_weights", "pixels_sha256",
                         "init", "blend", "style_mask"]), inner, max_size=5),
    max_leaves=20)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_values)
def test_hostile_metrics_and_settings_files_end_in_one_line_errors(tmp_path, data):
    """Whatever JSON a file holds, reading it as metrics or as settings either loads or
    raises GatysError; nothing else escapes."""
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    for read in (lambda: replay.Recorded(path).config(), lambda: settings_file.read(path)):
        try:
            read()
        except GatysError as e:
            assert "\n" not in str(e)
