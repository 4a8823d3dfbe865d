"""Finished runs kept on disk (paper.saved_runs): loaded for their own request only, or under
the caps at which they would end the same; checkpoints found under another cap only."""

import dataclasses

import numpy as np

from gatys_jax import checkpoints
from gatys_jax.config import StyleConfig
from gatys_jax.problem import read_inputs
from gatys_jax.transfer import stylize
from paper import saved_runs

from conftest import CONTENT, STYLE


def test_a_saved_run_is_loaded_for_its_own_request_only(tmp_path, tiny_weights):
    config = StyleConfig(size=32, iterations=2)
    result = stylize(CONTENT, STYLE, config, vgg=tiny_weights)
    content, styles = read_inputs(CONTENT, [STYLE], 32)
    asked = saved_runs.request("a run", config, "w.h5", checkpoints.pixels_digest(
        [content, *styles]), None, None)
    saved_runs.save(tmp_path, asked, result)
    loaded = saved_runs.load(tmp_path, asked, config)
    np.testing.assert_array_equal(loaded.image, result.image)
    assert loaded.to_json() == result.to_json() | {"interrupted": False, "signal": None}
    for changed in ({"label": "another"}, {"pixels": "0" * 64}, {"seeds": [1]},
                    {"settings": {**asked["settings"], "content_weight": 0.5}}):
        assert saved_runs.load(tmp_path, {**asked, **changed}, config) is None
    for damaged in (b"not an archive", b"PK\x03\x04 cut short"):
        (tmp_path / "runs" / "a_run.npz").write_bytes(damaged)
        assert saved_runs.load(tmp_path, asked, config) is None


def test_a_run_that_converged_clear_of_its_cap_answers_the_caps_it_ends_the_same_under(
        tmp_path, tiny_weights):
    """Under a higher cap, or a lower one down to its steps, the converged run would end the
    same (saved_runs.same_from_cap), so it is loaded, here and from another experiment's folder;
    under a cap below its steps, or unconverged, it answers its own cap only."""
    config = StyleConfig(size=32, iterations=400, stop_tolerance=0.05, stop_window=10)
    result = stylize(CONTENT, STYLE, config, vgg=tiny_weights)
    assert result.images[0].converged and result.iterations < 400
    content, styles = read_inputs(CONTENT, [STYLE], 32)
    under = lambda cap, label="a run": saved_runs.request(
        label, config.replace(iterations=cap), "w.h5",
        checkpoints.pixels_digest([content, *styles]), None, None)
    folder = tmp_path / "fig" / "a"
    saved_runs.save(folder, under(400), result)
    steps = saved_runs.result_same_from_cap(result)
    assert steps == result.iterations
    for cap in (steps, steps + 1, 399, 400, 401, 2000):
        np.testing.assert_array_equal(saved_runs.load(folder, under(cap), config).image,
                                      result.image)
    assert saved_runs.load(folder, under(steps - 1), config) is None
    path, found = saved_runs.find_elsewhere(tmp_path / "fig", under(2000, "b run"), config)
    assert path == folder / "runs" / "a_run.json"
    np.testing.assert_array_equal(found.image, result.image)

    unconverged = dataclasses.replace(result, images=[
        dataclasses.replace(result.images[0], converged=False)])
    saved_runs.save(folder, under(400), unconverged)
    assert saved_runs.load(folder, under(400), config) is not None
    assert saved_runs.load(folder, under(401), config) is None
    assert saved_runs.find_elsewhere(tmp_path / "fig", under(401, "b run"), config) is None


def test_a_checkpoint_is_found_under_another_cap_only(tmp_path):
    config = StyleConfig(size=32, iterations=100)
    asked = saved_runs.request("a run", config, "w.h5", "0" * 64, None, None)
    path = saved_runs.checkpoint_path(tmp_path, asked)
    longer = saved_runs.request("a run", config.replace(iterations=200), "w.h5", "0" * 64,
                                None, None)
    assert saved_runs.checkpoint_path(tmp_path, longer) == path
    other = saved_runs.request("a run", config.replace(content_weight=0.5), "w.h5", "0" * 64,
                               None, None)
    assert saved_runs.checkpoint_path(tmp_path, other) != path
