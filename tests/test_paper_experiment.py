"""An experiment's runs (paper.experiment.Experiment) with the real weights: saved and loaded
again, stopped and resumed from their checkpoints, run one image at a time or batched, and the
loss of the pictures as saved."""

import dataclasses
import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gatys_jax.events import ProgressEvent
from paper import experiment, fig1_content, settings
from paper.evaluator import Evaluator
from paper.experiment import Experiment

from conftest import CONTENT, STYLE
from paper_checks import SHAPE

real_weights = pytest.mark.real_weights


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
    real = experiment.stylize_batch

    def interrupted(*args, **kwargs):
        result = real(*args, **kwargs)
        result.interrupted = signal.SIGINT
        return result

    monkeypatch.setattr(experiment, "stylize_batch", interrupted)
    with pytest.raises(SystemExit) as stopped:
        fig1_content.main(["--content", CONTENT, "--out", str(tmp_path), "--weights",
                           str(normalized_weights_path), "--size", "32", "--iterations", "2",
                           "--layers", "conv1_2"])
    assert stopped.value.code == experiment.INTERRUPTED == 130
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
    real = experiment.stylize_batch

    def stopped_at_3(*args, on_update, **kwargs):
        def update(event):
            on_update(event)
            if isinstance(event, ProgressEvent) and event.iteration == 3:
                os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, on_update=update, **kwargs)

    monkeypatch.setattr(experiment, "stylize_batch", stopped_at_3)
    with pytest.raises(SystemExit):
        fig1_content.main(base + ["--out", str(tmp_path)])
    runs = tmp_path / "fig1_content" / "runs"
    (checkpoint,) = runs.iterdir()
    assert re.fullmatch(r"conv2_2\.[0-9a-f]{12}\.checkpoint\.npz", checkpoint.name)
    # a finished run drops its label's stale checkpoints (another request's), not others'
    for name in ("conv2_2.0123456789ab.checkpoint.npz", "conv2_2..x.0123456789ab.checkpoint.npz"):
        (runs / name).write_bytes(b"")
    monkeypatch.setattr(experiment, "stylize_batch", real)
    resumed = fig1_content.main(base + ["--out", str(tmp_path)])
    # the stale one goes; the run's own stays, for a higher cap (it ended unconverged)
    assert sorted(p.name for p in runs.iterdir()) == [
        "conv2_2..x.0123456789ab.checkpoint.npz", checkpoint.name, "conv2_2.json",
        "conv2_2.npz"]
    assert resumed["results"] == unbroken["results"]
    assert resumed["images"] == unbroken["images"]


def seeds_experiment(out: Path, weights: Path, batching: str,
                     name: str = "seeds") -> Experiment:
    """An experiment at 32 px whose images converge within a few hundred evaluations."""
    defaults = settings.defaults()
    args, config = settings.parse(settings.parser("test", defaults), [
        "--content", CONTENT, "--out", str(out), "--weights", str(weights), "--size", "32",
        "--iterations", "400", "--stop-tolerance", "0.01", "--stop-window", "20",
        "--batching", batching], defaults)
    return Experiment(name, "test", args, config.replace(stop_pixels=None))


@real_weights
def test_one_image_at_a_time_stops_each_at_its_own_convergence_and_resumes(
        tmp_path, normalized_weights_path):
    alone = seeds_experiment(tmp_path / "alone", normalized_weights_path, "off")
    result = alone.stylize("noise", [STYLE], seeds=(0, 1))
    assert [r["label"] for r in alone.runs] == ["noise, seed 0", "noise, seed 1"]
    assert [(i["run"], i["index"], i["seed"]) for i in alone.images] == [
        ("noise", 0, 0), ("noise", 1, 1)]
    assert (result.batch_size, result.batches) == (1, 2)
    assert result.facts["seeds"] == [0, 1]
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
    assert (batch.batch_size, batch.batches) == (2, 1)
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
    its style loss (paper.evaluator.Evaluator's, at lambda 1): against that loss the ratio is
    1, against half of it 2."""
    exp = seeds_experiment(tmp_path, normalized_weights_path, "off")
    (entry,) = exp.stylize("noise", [STYLE], iterations=2).images
    content, (style,) = exp.prepare([STYLE])
    picture = content.round().astype(np.uint8)
    losses = Evaluator(exp.vgg, content, style, entry.config)(picture)
    total = entry.config.content_weight * losses["content_loss"] + losses["style_loss"]
    assert losses["content_loss"] > 0 and entry.config.tv_weight == 0
    photo = dataclasses.replace(entry, image=picture)
    for optimized, ratio in ((total, 1.0), (total / 2, 2.0)):
        photo.losses = {**entry.losses, "total_loss": optimized}
        assert exp.saved_loss_ratio(photo) == pytest.approx(ratio, rel=1e-4)
    assert exp.images[0]["saved_loss_ratio"] == exp.saved_loss_ratio(entry)


@real_weights
def test_images_finished_one_way_drop_the_checkpoints_the_other_way_left(
        tmp_path, normalized_weights_path):
    runs = tmp_path / "seeds" / "runs"

    def checkpointed() -> list[str]:
        return sorted(path.name.split(".")[0] for path in runs.glob("*.checkpoint.npz"))

    def capped(batching: str) -> None:  # each image stops unconverged: its checkpoint stays
        exp = seeds_experiment(tmp_path, normalized_weights_path, batching)
        result = exp.stylize("noise", [STYLE], seeds=(0, 1), iterations=3)
        assert result.ends_unconverged

    capped("on")
    assert checkpointed() == ["noise"]
    capped("off")
    assert checkpointed() == ["noise_seed_0", "noise_seed_1"]
    capped("on")  # loads its saved run, whose checkpoint went with the images run alone
    assert checkpointed() == []
