"""The paper scripts (python -m paper.<figure>) end to end at tiny sizes with the real weights,
the lambda batch of Figure 4 against separate runs, and the helpers they rely on.

Every stylize_batch call compiles its program (seconds on CPU, more for deeper layers), so the
runs are few, small and shallow where the claim allows: each script runs once per module.
"""

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gatys_jax import checkpoints
from gatys_jax.config import StyleConfig
from gatys_jax.model.layers import LAYERS
from gatys_jax.problem import read_inputs
from gatys_jax.transfer import stylize
from gatys_jax.weights import h5
from paper import common, fig1_content, fig1_style, fig2, fig3, fig4, fig5
from paper import init as init_script
from paper import normalization, sample, saved_runs, summary

from conftest import CONTENT, OTHER_STYLE, STYLE

TINY = ["--size", "32", "--iterations", "3"]
SHAPE = (21, 32, 3)  # the cat photo (300x451) at long side 32
FIG4_ITERATIONS = 10
METRICS_KEYS = {"experiment", "description", "settings", "claims", "results", "images",
                "converged", "grid", "runs", "wall_seconds", "backend", "device", "machine",
                "date"}
CLAIM_KEYS = {"id", "claim", "criterion", "measured", "summary", "supported",
              "needs_convergence", "runs", "unconverged"}

real_weights = pytest.mark.real_weights
# a few iterations at 32 px barely move the noise: two reconstructions can round to the same
# uint8 image, whose measures are then equal and their rank correlation undefined (nan)
pytestmark = pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("paper")


@pytest.fixture(scope="module")
def small_calibration():
    """normalization's image sets at the tests' size: two photographs at 32 px, whatever the
    size asked (the real calibration compiles a forward pass per photograph and size)."""
    monkeypatch = pytest.MonkeyPatch()
    photos = [read_inputs(name, [], 32)[0][:21, :32] for name in ("chelsea", "coffee")]
    monkeypatch.setattr(normalization.normalize, "calibration_images", lambda size=256: photos)
    yield
    monkeypatch.undo()


@pytest.fixture(scope="module")
def script(out, normalized_weights_path, small_calibration):
    """script(name) -> metrics of that script's tiny run (each run once per module)."""
    base = ["--content", CONTENT, "--out", str(out), "--weights", str(normalized_weights_path)]
    runs = {
        "fig1_content": (fig1_content, TINY + ["--layers", "conv2_2,conv4_2"]),
        "fig1_style": (fig1_style, TINY + ["--style", STYLE, "--subsets", "1,2"]),
        "fig3": (fig3, TINY + ["--styles", f"{OTHER_STYLE},{STYLE}"]),
        # Adam here: see test_fig4_lambda_batch_equals_separate_runs; batched, as on a GPU
        "fig4": (fig4, ["--style", STYLE, "--size", "32", "--iterations", str(FIG4_ITERATIONS),
                        "--rows", "1,2", "--optimizer", "adam", "--batching", "on"]),
        "fig5": (fig5, TINY + ["--style", STYLE]),
        "init": (init_script, TINY + ["--style", STYLE]),
        "fig2": (fig2, TINY + ["--style", STYLE, "--snapshot-every", "1"]),
        "sample": (sample, TINY + ["--style", STYLE]),
        "normalization": (normalization, ["--size", "32", "--style", STYLE]),
    }
    cache = {}

    def run(name):
        if name not in cache:
            module, args = runs[name]
            cache[name] = module.main(base + args)
        return cache[name]

    return run


def check_written(out: Path, name: str, metrics: dict, claim_ids: set, results: int):
    folder = out / name
    on_disk = json.loads((folder / "metrics.json").read_text())
    assert on_disk == metrics
    assert METRICS_KEYS <= set(metrics)
    assert metrics["experiment"] == name
    assert {c["id"] for c in metrics["claims"]} == claim_ids
    for c in metrics["claims"]:
        assert set(c) == CLAIM_KEYS
        assert c["claim"] and c["criterion"] and c["summary"]
        rests_on = [i for i in metrics["images"] if c["runs"] is None or i["run"] in c["runs"]
                    or common.image_id(i["run"], i["index"]) in c["runs"]]
        if c["needs_convergence"] and any(i["converged"] is False for i in rests_on):
            assert c["supported"] is None and c["unconverged"], c  # evidence neither way
        else:
            assert isinstance(c["supported"], bool) and not c["unconverged"], c
    for image in metrics["images"]:
        assert {"run", "index", "evaluations", "converged", "speckle", "clipped",
                "saved_loss_ratio"} <= set(image)
        assert image["speckle"] >= 0 and 0 <= image["clipped"] <= 1
        assert image["saved_loss_ratio"] > 0
    assert metrics["photo_grain"]["clipped"] < 0.01  # the cat photo: all but none at 0 or 255
    assert metrics["converged"] == all(i["converged"] is not False for i in metrics["images"])
    grid = Image.open(folder / metrics["grid"])
    assert grid.format == "PNG" and min(grid.size) > 32
    assert len(metrics["results"]) == results
    for entry in metrics["results"]:
        if "image" in entry:  # fig2's and normalization's results are measurements only
            image = np.asarray(Image.open(folder / entry["image"]))
            assert image.shape == SHAPE and image.dtype == np.uint8
    assert metrics["settings"]["size"] == 32


@pytest.mark.slow
@real_weights
def test_fig1_content(script, out):
    metrics = script("fig1_content")
    check_written(out, "fig1_content", metrics,
                  {"detail_lost_with_depth", "high_layers_keep_arrangement"}, 2)
    for entry in metrics["results"]:
        assert {"layer", "psnr_db", "ssim", "layout_correlation", "content_loss"} <= set(entry)
        assert entry["content_loss"] < entry["initial_content_loss"]


@pytest.mark.slow
@real_weights
def test_fig1_style(script, out):
    metrics = script("fig1_style")
    check_written(out, "fig1_style", metrics,
                  {"larger_scale_with_more_layers", "style_loss_all_layers_falls"}, 2)
    for entry, layers in zip(metrics["results"], common.STYLE_SUBSETS):
        assert entry["layers"] == list(layers)
        # measured on all five layers, whatever the subset matched
        assert list(entry["style_layer_losses_all_layers"]) == list(common.STYLE_LAYERS)
        assert entry["autocorrelation_length_px"] > 0 and entry["spectral_wavelength_px"] > 0


@real_weights
def test_evaluator_matches_the_optimizers_losses(script, normalized_weights_path):
    """The scripts' measurements (common.Evaluator) are the optimizer's own losses: same
    targets, weights and preprocessing. Checked on the photo itself: the first evaluation of
    the init script's content-initialized run (content loss 0, so its total is the style loss).
    The content loss is 0 up to float32 rounding: the targets come from another compiled
    program than the losses, whose conv4_2 features of the photo round differently."""
    metrics = script("init")
    content, (style,) = read_inputs(CONTENT, [STYLE], 32)
    measured = common.Evaluator(h5.load(normalized_weights_path), content, style,
                                StyleConfig())(content)
    assert measured["content_loss"] <= 1e-9 * measured["style_loss"]
    start = next(r for r in metrics["results"] if r["run"] == "content")["initial_total_loss"]
    assert measured["style_loss"] == pytest.approx(start, rel=1e-5)


@pytest.mark.slow
@real_weights
def test_fig3(script, out):
    metrics = script("fig3")
    check_written(out, "fig3", metrics,
                  {"content_and_style_combined", "smaller_lambda_more_style"}, 4)
    # on this CPU (--batching auto) one run per painting and lambda, one image at a time
    assert metrics["programs"] == [{"style": s, "images": 2, "batch_size": 1, "chunks": 2}
                                   for s in (OTHER_STYLE, STYLE)]
    assert [r["label"] for r in metrics["runs"]] == [
        f"{s}, lambda {w:g}" for s in (OTHER_STYLE, STYLE) for w in fig3.CONTENT_WEIGHTS]
    assert [(i["run"], i["index"]) for i in metrics["images"]] == [
        (s, k) for s in (OTHER_STYLE, STYLE) for k in range(2)]
    assert {(r["style"], r["content_weight"]) for r in metrics["results"]} == {
        (s, w) for s in (OTHER_STYLE, STYLE) for w in (1e-3, 1e-4)}


@real_weights
def test_a_rerun_loads_the_finished_runs_and_only_an_identical_request(
        tmp_path, normalized_weights_path):
    base = ["--content", CONTENT, "--out", str(tmp_path), "--weights",
            str(normalized_weights_path), "--size", "32", "--layers", "conv1_2"]
    first = fig1_content.main(base + ["--iterations", "3"])
    again = fig1_content.main(base + ["--iterations", "3"])
    assert [r["resumed"] for r in first["runs"]] == [False]
    assert [r["resumed"] for r in again["runs"]] == [True]
    assert again["results"] == first["results"] and again["images"] == first["images"]
    # the same weights at another path (another checkout) make the same request
    copy = tmp_path / "copy.h5"
    shutil.copyfile(normalized_weights_path, copy)
    moved = fig1_content.main(base[:5] + [str(copy)] + base[6:] + ["--iterations", "3"])
    assert [r["resumed"] for r in moved["runs"]] == [True]
    saved = Image.open(tmp_path / "fig1_content" / "images" / "conv1_2.png")
    assert saved.size == (SHAPE[1], SHAPE[0])
    # unconverged at its cap, the run keeps its checkpoint beside it
    kept = sorted(p.name for p in (tmp_path / "fig1_content" / "runs").iterdir())
    assert len(kept) == 3 and kept[1:] == ["conv1_2.json", "conv1_2.npz"]
    assert re.fullmatch(r"conv1_2\.[0-9a-f]{12}\.checkpoint\.npz", kept[0])
    # a higher cap goes on from it to where an unbroken run ends; --fresh optimizes again
    longer = fig1_content.main(base + ["--iterations", "4"])
    fresh = fig1_content.main(base + ["--iterations", "4", "--fresh"])
    assert [r["resumed"] for r in longer["runs"] + fresh["runs"]] == [False, False]
    assert longer["results"][0]["evaluations"] > first["results"][0]["evaluations"]
    assert longer["results"] == fresh["results"]


@real_weights
def test_an_interrupted_run_is_not_saved_and_ends_the_experiment(
        tmp_path, normalized_weights_path, monkeypatch, capsys):
    real = common.stylize_batch

    def interrupted(*args, **kwargs):
        result = real(*args, **kwargs)
        result.interrupted = signal.SIGINT
        return result

    monkeypatch.setattr(common, "stylize_batch", interrupted)
    with pytest.raises(SystemExit) as stopped:
        fig1_content.main(["--content", CONTENT, "--out", str(tmp_path), "--weights",
                           str(normalized_weights_path), "--size", "32", "--iterations", "2",
                           "--layers", "conv1_2"])
    assert stopped.value.code == common.INTERRUPTED == 130
    assert "interrupted during 'conv1_2'" in capsys.readouterr().err
    # no run saved (a checkpoint only: the run stopped unconverged)
    assert not [path for path in (tmp_path / "fig1_content" / "runs").iterdir()
                if not path.name.endswith(".checkpoint.npz")]


@real_weights
def test_a_run_stopped_by_a_signal_goes_on_from_its_checkpoint(
        tmp_path, normalized_weights_path, monkeypatch, capsys):
    base = ["--content", CONTENT, "--weights", str(normalized_weights_path), "--size", "32",
            "--iterations", "6", "--layers", "conv2_2"]
    unbroken = fig1_content.main(base + ["--out", str(tmp_path / "unbroken")])
    real = common.stylize_batch

    def stopped_at_3(*args, on_update, **kwargs):
        def update(event):
            on_update(event)
            if event["phase"] == "run" and event["iteration"] == 3:
                os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, on_update=update, **kwargs)

    monkeypatch.setattr(common, "stylize_batch", stopped_at_3)
    with pytest.raises(SystemExit):
        fig1_content.main(base + ["--out", str(tmp_path)])
    runs = tmp_path / "fig1_content" / "runs"
    (checkpoint,) = runs.iterdir()
    assert re.fullmatch(r"conv2_2\.[0-9a-f]{12}\.checkpoint\.npz", checkpoint.name)
    # a finished run drops its label's stale checkpoints (another request's), not others'
    for name in ("conv2_2.0123456789ab.checkpoint.npz", "conv2_2..x.0123456789ab.checkpoint.npz"):
        (runs / name).write_bytes(b"")
    monkeypatch.setattr(common, "stylize_batch", real)
    resumed = fig1_content.main(base + ["--out", str(tmp_path)])
    # the stale one goes; the run's own stays, for a higher cap (it ended unconverged)
    assert sorted(p.name for p in runs.iterdir()) == [
        "conv2_2..x.0123456789ab.checkpoint.npz", checkpoint.name, "conv2_2.json",
        "conv2_2.npz"]
    assert resumed["results"] == unbroken["results"]
    assert resumed["images"] == unbroken["images"]


def test_a_saved_run_is_loaded_for_its_own_request_only(tmp_path, tiny_weights):
    config = StyleConfig(size=32, iterations=2, weights=tiny_weights)
    result = stylize(CONTENT, STYLE, config)
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
    config = StyleConfig(size=32, iterations=400, stop_tolerance=0.05, stop_window=10,
                         weights=tiny_weights)
    result = stylize(CONTENT, STYLE, config)
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


def seeds_experiment(out: Path, weights: Path, batching: str,
                     name: str = "seeds") -> common.Experiment:
    """An experiment at 32 px whose images converge within a few hundred evaluations."""
    defaults = common.defaults()
    args, config = common.parse(common.parser("test", defaults), [
        "--content", CONTENT, "--out", str(out), "--weights", str(weights), "--size", "32",
        "--iterations", "400", "--stop-tolerance", "0.01", "--stop-window", "20",
        "--batching", batching], defaults)
    return common.Experiment(name, "test", args, config.replace(stop_pixels=None))


@real_weights
def test_one_image_at_a_time_stops_each_at_its_own_convergence_and_resumes(
        tmp_path, normalized_weights_path):
    alone = seeds_experiment(tmp_path / "alone", normalized_weights_path, "off")
    result = alone.stylize("noise", [STYLE], seeds=(0, 1))
    assert [r["label"] for r in alone.runs] == ["noise, seed 0", "noise, seed 1"]
    assert [(i["run"], i["index"], i["seed"]) for i in alone.images] == [
        ("noise", 0, 0), ("noise", 1, 1)]
    assert (result.batch_size, result.chunks) == (1, 2)
    assert result.settings["seeds"] == [0, 1]
    for entry in result.images:
        # it stopped at the first evaluation where its own loss had settled
        assert entry.converged
        totals = {h["evaluations"]: h["total_loss"] for h in entry.history}
        last = entry.evaluations

        def settled(at):
            return totals[at - 20] - totals[at] <= 0.01 * abs(totals[at])

        assert settled(last) and not any(settled(e) for e in totals if 20 < e < last)
    together = seeds_experiment(tmp_path / "together", normalized_weights_path, "on")
    batch = together.stylize("noise", [STYLE], seeds=(0, 1))
    assert [r["label"] for r in together.runs] == ["noise"]
    assert (batch.batch_size, batch.chunks) == (2, 1)
    # a batch runs until its last image converges
    assert batch.images[0].evaluations == batch.images[1].evaluations
    assert batch.images[0].evaluations >= max(e.evaluations for e in result.images) - 20
    # a rerun loads every image's own run
    again = seeds_experiment(tmp_path / "alone", normalized_weights_path, "off")
    reloaded = again.stylize("noise", [STYLE], seeds=(0, 1))
    assert [r["resumed"] for r in again.runs] == [True, True]
    for a, b in zip(reloaded.images, result.images):
        np.testing.assert_array_equal(a.image, b.image)
    # another experiment asking for one of these images copies it instead of optimizing
    elsewhere = seeds_experiment(tmp_path / "alone", normalized_weights_path, "off", "other")
    copied = elsewhere.stylize("seed 1 again", [STYLE], seed=1)
    assert [(r["resumed"], r["copied_from"]) for r in elsewhere.runs] == [
        (True, str(Path("seeds", "runs", "noise_seed_1.json")))]
    np.testing.assert_array_equal(copied.image, result.images[1].image)
    assert copied.images[0].evaluations == result.images[1].evaluations
    assert sorted(p.name for p in (tmp_path / "alone" / "other" / "runs").iterdir()) == [
        "seed_1_again.json", "seed_1_again.npz"]
    # but not one asked with another setting
    other_seed = elsewhere.stylize("seed 2", [STYLE], seed=2, iterations=2)
    assert elsewhere.runs[-1]["copied_from"] is None and not elsewhere.runs[-1]["resumed"]
    assert other_seed.images[0].evaluations <= 3


@real_weights
def test_the_saved_loss_ratio_is_the_saved_pictures_loss_over_the_optimizers(
        tmp_path, normalized_weights_path):
    """Measured on the photo as a picture, whose total loss is lambda x its content loss plus
    its style loss (common.Evaluator's, at lambda 1): against that loss the ratio is 1,
    against half of it 2."""
    experiment = seeds_experiment(tmp_path, normalized_weights_path, "off")
    (entry,) = experiment.stylize("noise", [STYLE], iterations=2).images
    content, (style,) = experiment.prepare([STYLE])
    picture = content.round().astype(np.uint8)
    losses = common.Evaluator(experiment.vgg, content, style, entry.config)(picture)
    total = entry.config.content_weight * losses["content_loss"] + losses["style_loss"]
    assert losses["content_loss"] > 0 and entry.config.tv_weight == 0
    photo = dataclasses.replace(entry, image=picture)
    for optimized, ratio in ((total, 1.0), (total / 2, 2.0)):
        photo.losses = {**entry.losses, "total_loss": optimized}
        assert experiment.saved_loss_ratio(photo) == pytest.approx(ratio, rel=1e-4)
    assert experiment.images[0]["saved_loss_ratio"] == experiment.saved_loss_ratio(entry)


@real_weights
def test_images_finished_one_way_drop_the_checkpoints_the_other_way_left(
        tmp_path, normalized_weights_path):
    runs = tmp_path / "seeds" / "runs"

    def checkpointed() -> list[str]:
        return sorted(path.name.split(".")[0] for path in runs.glob("*.checkpoint.npz"))

    def capped(batching: str) -> None:  # each image stops unconverged: its checkpoint stays
        experiment = seeds_experiment(tmp_path, normalized_weights_path, batching)
        result = experiment.stylize("noise", [STYLE], seeds=(0, 1), iterations=3)
        assert result.ends_unconverged

    capped("on")
    assert checkpointed() == ["noise"]
    capped("off")
    assert checkpointed() == ["noise_seed_0", "noise_seed_1"]
    capped("on")  # loads its saved run, whose checkpoint went with the images run alone
    assert checkpointed() == []


@pytest.mark.slow
def test_fig3_styles_default_to_the_bundled_paintings():
    assert set(fig3.STYLES.split(",")) == {"shipwreck", "starry_night", "woman_with_hat"}


@pytest.mark.slow
@real_weights
def test_fig4(script, out):
    metrics = script("fig4")
    check_written(out, "fig4", metrics, {"lambda_trades_style_for_content",
                                         "higher_layers_larger_structures",
                                         "one_program_per_row"}, 8)
    one_program = next(c for c in metrics["claims"] if c["id"] == "one_program_per_row")
    assert one_program["supported"]
    assert [r["chunks"] for r in metrics["runs"]] == [1, 1]
    assert [r["batch_size"] for r in metrics["runs"]] == [4, 4]
    # the scale claim measures each lambda's column as fig1_style does: both measures
    scale = next(c for c in metrics["claims"] if c["id"] == "higher_layers_larger_structures")
    assert set(scale["measured"]) == {f"{w:g}" for w in fig4.CONTENT_WEIGHTS}
    # ... and rests on the style-dominated columns' images (the first two lambdas)
    assert sorted(scale["runs"]) == sorted(common.image_id(label, index)
                                           for label in ("conv1_1", "conv1_1..conv2_1")
                                           for index in (0, 1))
    for column in scale["measured"].values():
        for measure in ("autocorrelation_length_px", "spectral_wavelength_px"):
            rho = column[f"spearman_{measure}"]  # None where a measure ties: rho undefined
            assert len(column[measure]) == 2 and (rho is None or -1 <= rho <= 1)


@pytest.mark.slow
@real_weights
def test_fig4_lambda_batch_equals_separate_runs(script, out, normalized_weights_path):
    """One vmapped program over the four lambdas gives what four single-lambda runs give:
    losses (every evaluation) within 5e-4 relative, images within one uint8 level. A wrong
    lambda, or optimizer state shared across the batch, is off by far more.

    Batch-of-4 and batch-of-1 convolutions differ in rounding only, which the steps amplify:
    Adam's per-pixel step m / sqrt(v) moves a pixel whose gradient is rounding-sized by a
    whole step, in a sign the rounding decides, so the losses part at the 1e-5 level within
    ten steps on some CPUs. L-BFGS amplifies it further, through its curvature pairs
    y = g1 - g0: a property of the optimizers on float32 gradients, not of the batching."""
    metrics = script("fig4")
    row = [r for r in metrics["results"] if r["layers"] == ["conv1_1"]]
    assert [r["content_weight"] for r in row] == list(fig4.CONTENT_WEIGHTS)
    for entry in row:
        result = stylize(CONTENT, STYLE, StyleConfig.paper(
            content_weight=entry["content_weight"], seed=0, size=32, iterations=FIG4_ITERATIONS,
            style_layers=("conv1_1",), optimizer="adam", weights=normalized_weights_path))
        single = result.to_json()
        for key in ("total_loss", "content_loss", "style_loss"):
            assert entry[key] == pytest.approx(single[key], rel=5e-4), key
        history = [h["total_loss"] for h in single["history"]]
        np.testing.assert_allclose(entry["history_total_loss"], history, rtol=5e-4)
        batched = np.asarray(Image.open(out / "fig4" / entry["image"]), np.int16)
        assert np.max(np.abs(batched - result.image.astype(np.int16))) <= 1


@pytest.mark.slow
@real_weights
def test_fig5(script, out):
    metrics = script("fig5")
    check_written(out, "fig5", metrics, {"conv2_2_keeps_detail", "conv4_2_merges_style"}, 2)
    assert [r["content_layer"] for r in metrics["results"]] == ["conv2_2", "conv4_2"]


@pytest.mark.slow
@real_weights
def test_init(script, out):
    metrics = script("init")
    check_written(out, "init", metrics, {"final_loss_independent_of_init",
                                         "fixed_init_deterministic", "noise_seeds_differ"}, 4)
    claims = {c["id"]: c for c in metrics["claims"]}
    # this one holds at any size and iteration count
    assert claims["fixed_init_deterministic"]["supported"]
    assert metrics["distances"]["content_runs"] == 0.0
    layout = metrics["layout_differences"]
    assert len(layout) == 15 and layout["photo vs painting"] > 0  # 4 starts, photo, painting
    assert claims["final_loss_independent_of_init"]["measured"]["layout_difference"] == layout
    # the repeated pair runs short, without the convergence rules; the other runs with them
    rules = {i["run"]: i["converged"] for i in metrics["images"]}
    assert rules["content, repeat 1"] is None and rules["content, repeat 2"] is None
    assert all(isinstance(rules[r], bool) for r in ("content", "style"))
    # the seeds' starts differ by a grey level, their images only as far as the runs go: the
    # claim waits for the noise runs to converge
    assert claims["noise_seeds_differ"]["supported"] is None
    assert claims["noise_seeds_differ"]["unconverged"] == ["noise, seeds (0, 1) #0",
                                                            "noise, seeds (0, 1) #1"]
    assert metrics["distances"]["noise_seeds"] > 0


@pytest.mark.slow
@real_weights
def test_fig2(script, out):
    metrics = script("fig2")
    check_written(out, "fig2", metrics, {"both_terms_fall"}, 4)  # the start and 3 steps
    terms = metrics["results"]
    assert [t["iteration"] for t in terms] == [0, 1, 2, 3]
    assert [t["evaluations"] for t in terms] == [t["iteration"] + 1 for t in terms]
    for t in terms:
        assert t["total"] == pytest.approx(t["content_term"] + t["style_term"])
    # the terms are the optimizer's own: their sum is its total at that evaluation
    curve = {h["evaluations"]: h["total_loss"] for h in metrics["history"]}
    for t in terms:
        assert t["total"] == pytest.approx(curve[t["evaluations"]], rel=1e-4)
    (image,) = metrics["images"]
    assert image["evaluations"] == 4 and terms[-1]["total"] < terms[0]["total"]


@pytest.mark.slow
@real_weights
def test_fig2_resumes_from_its_saved_run(tmp_path, normalized_weights_path, monkeypatch):
    """A second fig2 with the same request loads the finished run instead of optimizing and
    writes the same terms, curve and claim, also when the run's last iteration is no multiple
    of --snapshot-every (the final picture is kept all the same); an incomplete saved run, or
    --fresh, optimizes again."""
    args = ["--content", CONTENT, "--out", str(tmp_path), "--weights",
            str(normalized_weights_path), *TINY, "--style", STYLE, "--snapshot-every", "2"]
    first = fig2.main(args)
    assert [t["iteration"] for t in first["results"]] == [0, 2, 3]
    real, calls = fig2.optimize, []
    monkeypatch.setattr(fig2, "optimize", lambda *a: calls.append(1) or real(*a))
    again = fig2.main(args)
    for key in ("results", "history", "images", "claims"):
        assert again[key] == first[key], key
    assert again["runs"][0]["resumed"] and not first["runs"][0]["resumed"] and not calls
    assert fig2.main(args + ["--fresh"])["results"] == first["results"] and calls == [1]
    record = tmp_path / "fig2" / "runs" / "run.json"
    saved = json.loads(record.read_text())
    record.write_text(json.dumps({k: v for k, v in saved.items() if k != "terms"}))
    assert not fig2.main(args)["runs"][0]["resumed"] and calls == [1, 1]


@real_weights
def test_an_interrupted_fig2_keeps_its_checkpoint_and_goes_on_from_it(
        tmp_path, normalized_weights_path, monkeypatch, capsys):
    args = ["--content", CONTENT, "--weights", str(normalized_weights_path), *TINY, "--style",
            STYLE, "--snapshot-every", "1"]
    unbroken = fig2.main(args + ["--out", str(tmp_path / "unbroken")])
    real = fig2.driver.run

    def stopped_at_2(compiled, x0, arguments, iterations, on_update, **options):
        def update(state, row):
            on_update(state, row)
            if int(state.iteration) == 2:
                os.kill(os.getpid(), signal.SIGINT)
        return real(compiled, x0, arguments, iterations, update, **options)

    monkeypatch.setattr(fig2.driver, "run", stopped_at_2)
    with pytest.raises(SystemExit) as stopped:
        fig2.main(args + ["--out", str(tmp_path)])
    assert stopped.value.code == common.INTERRUPTED
    assert "[fig2] interrupted" in capsys.readouterr().err
    runs = tmp_path / "fig2" / "runs"
    (checkpoint,) = runs.iterdir()
    assert re.fullmatch(r"run\.[0-9a-f]{12}\.checkpoint\.npz", checkpoint.name)
    assert not (tmp_path / "fig2" / "metrics.json").exists()
    monkeypatch.setattr(fig2.driver, "run", real)
    resumed = fig2.main(args + ["--out", str(tmp_path)])
    # unconverged at its cap, it keeps its checkpoint for a higher cap
    assert sorted(p.name for p in runs.iterdir()) == [checkpoint.name, "run.json", "run.npz"]
    same = lambda a, b: [(h["evaluations"], h["total_loss"]) for h in a["history"]] == [
        (h["evaluations"], h["total_loss"]) for h in b["history"]]
    for key in ("results", "images", "claims"):
        assert resumed[key] == unbroken[key], key
    assert same(resumed, unbroken)
    # which goes on from there to where an unbroken run under that cap ends
    cap = ["--iterations", "5"]
    longer = fig2.main(args + cap + ["--out", str(tmp_path)])
    unbroken_longer = fig2.main(args + cap + ["--out", str(tmp_path / "unbroken")])
    assert not longer["runs"][0]["resumed"]
    for key in ("results", "images", "claims"):
        assert longer[key] == unbroken_longer[key], key
    assert same(longer, unbroken_longer) and not same(longer, unbroken)


@pytest.mark.slow
def test_fig2_shows_log_spaced_snapshots():
    assert fig2.snapshots_shown([10, 20]) == [10, 20]
    shown = fig2.snapshots_shown(list(range(10, 1001, 10)))
    assert shown[0] == 10 and shown[-1] == 1000 and len(shown) == fig2.SHOWN
    assert shown[1] < 100  # log-spaced, not even


@pytest.mark.slow
@real_weights
def test_sample(script, out):
    metrics = script("sample")
    check_written(out, "sample", metrics, {"content_and_style"}, 1)
    (entry,) = metrics["results"]
    assert {"style_distance", "content_distance", "speckle"} <= set(entry)
    assert metrics["settings"]["content_weight"] == sample.CONTENT_WEIGHT == 2e-3


@pytest.mark.slow
@real_weights
def test_normalization(script, out):
    metrics = script("normalization")
    check_written(out, "normalization", metrics, {"mean_activation_one", "lambda_transfers"}, 4)
    balance = metrics["balance"]
    # the normalization shrinks the style term (4th power of activations) far more than the
    # content term (2nd power): the same lambda weighs content more
    assert (balance["normalized"]["style_loss"] / balance["normalized"]["content_loss"]
            < balance["plain"]["style_loss"] / balance["plain"]["content_loss"])
    assert metrics["lambda_equivalent_on_plain"] > 1e-3
    for entry in metrics["results"]:
        assert list(entry["layers"]) == list(LAYERS)
        assert all(0 <= v["min"] <= v["median"] <= v["max"] for v in entry["layers"].values())


@real_weights
def test_converged_images_make_claims_count(tmp_path, normalized_weights_path):
    """With a loose tolerance the image converges within the cap, so its claim is judged."""
    metrics = sample.main(["--content", CONTENT, "--style", STYLE, "--out", str(tmp_path),
                           "--weights", str(normalized_weights_path), "--size", "32",
                           "--iterations", "50", "--stop-tolerance", "0.5",
                           "--stop-window", "2"])
    (image,) = metrics["images"]
    assert image["converged"] is True and image["evaluations"] < 51 and metrics["converged"]
    (claim,) = metrics["claims"]
    assert isinstance(claim["supported"], bool) and claim["unconverged"] == []


def test_unconverged_images_never_count_for_or_against_a_claim():
    claims = [common.claim("a", "text", "criterion", {}, "summary", True),
              common.claim("b", "text", "criterion", {}, "summary", False),
              common.claim("c", "text", "criterion", {}, "summary", False,
                           needs_convergence=False)]
    judged = [common.judged(c, ["run #0"]) for c in claims]
    assert [c["supported"] for c in judged] == [None, None, False]
    assert judged[0]["unconverged"] == ["run #0"] and "not judged" in judged[0]["summary"]
    assert [common.judged(c, [])["supported"] for c in claims] == [True, False, False]
    # a claim resting on some runs is judged when only other runs' images are unconverged
    some = common.claim("d", "text", "criterion", {}, "summary", True, runs=["conv4_2"])
    assert common.judged(some, ["conv1_2 #0"])["supported"] is True
    assert common.judged(some, ["conv1_2 #0", "conv4_2 #0"])["unconverged"] == ["conv4_2 #0"]


def test_a_trend_rests_on_its_converged_images():
    entries = [{"image_id": common.image_id(label, 0), "value": v}
               for label, v in [("a", 1), ("b", 2), ("c", 3), ("d", 4)]]
    kept, ids, left_out = common.trend(entries, ["c #0"])
    assert [e["value"] for e in kept] == [1, 2, 4] and ids == ["a #0", "b #0", "d #0"]
    assert left_out == ["c #0"] and "c #0" in common.left_out(left_out)
    # the claim on the rest is judged, though an image of the experiment is unconverged
    rest = common.claim("t", "text", "criterion", {}, "summary", True, runs=ids)
    assert common.judged(rest, ["c #0"])["supported"] is True
    # fewer than MIN_TREND_POINTS converged: the trend keeps every image, and is not judged
    kept, ids, left_out = common.trend(entries, ["a #0", "c #0"])
    assert len(kept) == 4 and left_out == [] and common.left_out(left_out) == ""
    every = common.claim("t", "text", "criterion", {}, "summary", True, runs=ids)
    assert common.judged(every, ["a #0", "c #0"])["unconverged"] == ["a #0", "c #0"]
    assert common.judged(every, ["a #0", "c #0"])["supported"] is None


def test_quick_is_256_px_unless_a_size_is_given():
    p = common.parser("d", fig5.DEFAULTS)
    assert common.parse(p, [], fig5.DEFAULTS)[1].size == common.FULL_SIZE == 512
    assert common.parse(p, ["--quick"], fig5.DEFAULTS)[1].size == common.QUICK_SIZE == 256
    assert common.parse(p, ["--quick", "--size", "64"], fig5.DEFAULTS)[1].size == 64
    config = fig5.DEFAULTS
    assert (config.stop_tolerance, config.stop_pixels, config.stop_window) == (1e-3, 0.1, 100)
    # a cap, not a budget: from the paper's white-noise start the loss settles only after
    # thousands of evaluations
    for script in (fig1_content, fig1_style, fig2, fig3, fig4, fig5, init_script, sample):
        assert script.DEFAULTS.iterations >= common.CAP >= 5000, script.NAME


@real_weights
def test_summary_table(script, out, tmp_path):
    for name in summary.ORDER:
        script(name)
    docs = out / "docs"
    text = summary.main(["--out", str(out), "--docs", str(docs)])
    assert (out / "claims.md").read_text() == text
    claims = sum(len(script(name)["claims"]) for name in summary.ORDER)
    assert text.count("\n| ") == claims + 1  # the separator row and one row per claim
    assert "not judged (unconverged)" in text and "images converged (cap 3 iterations" in text
    assert "min optimizing (compiling apart) on " in text
    assert "px, start: noise, sd 1 grey levels, " in text  # the authors' start
    assert re.search(r"; grain: speckle median \d+, max \d+ \(the photo's \d+\), colour "
                     r"channels at 0 or 255 median \d+\.\d%, max \d+\.\d%; total loss of the "
                     r"pictures as saved \(8 bits, clipped to 0\.\.255\) median [\d.e+-]+x, max "
                     r"[\d.e+-]+x the optimizer's", text)
    page = (docs / "paper.md").read_text()
    for name in summary.ORDER:
        figure = docs / "paper" / f"{name}.jpg"
        assert f"![{name}](paper/{name}.jpg)" in page
        assert figure.read_bytes()[:2] == b"\xff\xd8" and figure.stat().st_size <= 200_000
        for c in script(name)["claims"]:
            assert f"| {name} | {c['claim']} |" in section_of(page, name)
    # a rerun rewrites only its own part: the hand-written text around it stays
    (docs / "paper.md").write_text("# Title\n\nby hand\n\n" + page.split("\n\n", 1)[1]
                                   + "\n## Notes\n\nalso by hand\n")
    summary.main(["--out", str(out), "--docs", str(docs)])
    again = (docs / "paper.md").read_text()
    assert again.startswith("# Title\n\nby hand\n\n" + summary.BEGIN)
    assert again.endswith(summary.END + "\n\n## Notes\n\nalso by hand\n")
    assert again.split("\n\n", 2)[2] == page.split("\n\n", 1)[1] + "\n## Notes\n\nalso by hand\n"
    # results of one experiment rewrite its section only: the others stay as they were
    only = tmp_path / "only_fig5"
    (only / "fig5").mkdir(parents=True)
    fig5_metrics = json.loads((out / "fig5" / "metrics.json").read_text())
    fig5_metrics["claims"][0]["summary"] = "measured again"
    (only / "fig5" / "metrics.json").write_text(json.dumps(fig5_metrics))
    grid = only / "fig5" / fig5_metrics["grid"]
    grid.parent.mkdir(parents=True, exist_ok=True)
    grid.write_bytes((out / "fig5" / fig5_metrics["grid"]).read_bytes())
    summary.main(["--out", str(only), "--docs", str(docs)])
    third = (docs / "paper.md").read_text()
    assert "measured again" in section_of(third, "fig5")
    for name in summary.ORDER:
        if name != "fig5":
            assert section_of(third, name) == section_of(again, name)
    # an experiment that never ran has a section that says so
    fresh = summary.main(["--out", str(only), "--docs", str(tmp_path / "new_docs")])
    page = (tmp_path / "new_docs" / "paper.md").read_text()
    assert "measured again" in fresh and "Not yet run to convergence" in section_of(page, "fig2")


def section_of(page: str, name: str) -> str:
    """Experiment `name`'s section of docs/paper.md's generated part."""
    return next(m.group(0) for m in summary.SECTION.finditer(page) if m.group(1) == name)


def test_gallery_figures_shrink_to_fit(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)  # incompressible
    Image.fromarray(noise).save(tmp_path / "grid.png")
    figure = summary.gallery_figure(tmp_path / "grid.png", tmp_path / "figure.jpg")
    assert figure.stat().st_size <= summary.FIGURE_BYTES
    assert Image.open(figure).size[0] < 1600


@real_weights
def test_content_reconstruction_from_conv1_2_reaches_30_db_at_64_px(
        tmp_path, normalized_weights_path):
    """The paper's 'almost perfect' low-layer reconstruction, from white noise. The pixel
    directions conv1_2 barely sees (fine, high-frequency ones) converge slowly, so this takes
    thousands of L-BFGS iterations (history 10: the content-only step at 64 px is cheap, the
    history's bookkeeping is not)."""
    metrics = fig1_content.main([
        "--content", CONTENT, "--out", str(tmp_path), "--weights", str(normalized_weights_path),
        "--size", "64", "--layers", "conv1_2", "--iterations", "4500", "--history", "10"])
    (entry,) = metrics["results"]
    assert entry["psnr_db"] > 30.0, entry
    low = next(c for c in metrics["claims"] if c["id"] == "low_layer_exact")
    assert low["measured"]["psnr_db"] == entry["psnr_db"]


# --------------------------------------------------------------------- measurements (fast)

def test_grain_measures_speckle_and_clipped_channels():
    flat = np.full((8, 8, 3), 128.0)
    assert common.grain(flat) == {"speckle": 0.0, "clipped": 0.0}
    checker = np.indices((8, 8)).sum(axis=0)[..., None] % 2 * np.array([255.0, 0.0, 255.0])
    measured = common.grain(checker)
    assert measured["clipped"] == 1.0
    # every interior pixel's four neighbours differ from it by the luminance of (255, 0, 255)
    assert measured["speckle"] == pytest.approx(4 * (0.299 + 0.114) * 255, rel=1e-3)


def test_monotone_helpers():
    assert common.strictly_decreasing([3, 2, 1]) and not common.strictly_decreasing([3, 3, 1])
    assert common.strictly_increasing([1, 2, 3]) and not common.strictly_increasing([1, 1, 3])


def test_json():
    assert common.jsonable({"x": np.float32(1.5), "ok": np.bool_(True), "inf": float("inf"),
                            "a": np.arange(2)}) == {"x": 1.5, "ok": True, "inf": None, "a": [0, 1]}


@pytest.mark.subprocess
def test_reproduce_script_stops_when_an_experiment_is_interrupted(tmp_path):
    """An experiment that exits with common.INTERRUPTED stops the script (the next command
    resumes); one that fails is reported and the next experiment still runs."""
    log = tmp_path / "ran"
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho "$2" >> {log}\ncase "$2" in paper.fig2) exit 1;; '
                    f'paper.fig3) exit {common.INTERRUPTED};; esac\n')
    fake.chmod(0o755)
    script = common.ROOT / "scripts" / "reproduce_paper.sh"
    done = subprocess.run(["bash", str(script), "--quick"], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": str(fake),
                               "ONLY": "fig1_content fig2 fig3 fig4"})
    assert done.returncode == common.INTERRUPTED
    assert log.read_text().split() == ["paper.fig1_content", "paper.fig2", "paper.fig3"]
    assert "fig3 interrupted" in done.stderr and "fig2 FAILED" in done.stderr


@real_weights
def test_the_paper_scripts_run_with_lbfgsb(tmp_path, normalized_weights_path):
    """--optimizer lbfgsb reaches a paper script's run and its record."""
    metrics = fig2.main(["--content", CONTENT, "--out", str(tmp_path), "--weights",
                         str(normalized_weights_path), *TINY, "--style", STYLE,
                         "--optimizer", "lbfgsb"])
    assert metrics["settings"]["optimizer"] == "lbfgsb"
    (image,) = metrics["images"]
    assert image["evaluations"] == 4 and image["saved_loss_ratio"] > 0


def test_grid_row_labels_fit_their_panels():
    """A row label longer than its panel is tall (at 7 points) breaks after a layer range's
    dots; a short one stays on one line."""
    assert common._fitted("conv1_1", 0.93) == "conv1_1"
    assert common._fitted("conv1_1..conv5_1", 0.93) == "conv1_1..\nconv5_1"
    assert common._fitted("conv1_1..conv5_1", 2.0) == "conv1_1..conv5_1"
