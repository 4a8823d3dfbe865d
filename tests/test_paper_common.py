"""What the paper scripts share, without running one: claims and their verdicts, trends over
converged images, the settings, the measures of pictures and the grids (lab), the JSON of
metrics.json, and scripts/reproduce_paper.sh stopping on an interrupted experiment."""

import os
import subprocess

import numpy as np
import pytest

from lab import figures, measures
from paper import (claims, experiment, fig1_content, fig1_style, fig2, fig3, fig4, fig5, sample,
                   settings, start)


def test_unconverged_images_never_count_for_or_against_a_claim():
    made = [claims.claim("a", "text", "criterion", {}, "summary", True),
            claims.claim("b", "text", "criterion", {}, "summary", False),
            claims.claim("c", "text", "criterion", {}, "summary", False,
                         needs_convergence=False)]
    judged = [claims.judged(c, ["run #0"]) for c in made]
    assert [c["supported"] for c in judged] == [None, None, False]
    assert judged[0]["unconverged"] == ["run #0"] and "not judged" in judged[0]["summary"]
    assert [claims.judged(c, [])["supported"] for c in made] == [True, False, False]
    # a claim resting on some runs is judged when only other runs' images are unconverged
    some = claims.claim("d", "text", "criterion", {}, "summary", True, runs=["conv4_2"])
    assert claims.judged(some, ["conv1_2 #0"])["supported"] is True
    assert claims.judged(some, ["conv1_2 #0", "conv4_2 #0"])["unconverged"] == ["conv4_2 #0"]


def test_a_trend_rests_on_its_converged_images():
    entries = [{"image_id": claims.image_id(label, 0), "value": v}
               for label, v in [("a", 1), ("b", 2), ("c", 3), ("d", 4)]]
    kept, ids, left_out = claims.trend(entries, ["c #0"])
    assert [e["value"] for e in kept] == [1, 2, 4] and ids == ["a #0", "b #0", "d #0"]
    assert left_out == ["c #0"] and "c #0" in claims.left_out(left_out)
    # the claim on the rest is judged, though an image of the experiment is unconverged
    rest = claims.claim("t", "text", "criterion", {}, "summary", True, runs=ids)
    assert claims.judged(rest, ["c #0"])["supported"] is True
    # fewer than MIN_TREND_POINTS converged: the trend keeps every image, and is not judged
    kept, ids, left_out = claims.trend(entries, ["a #0", "c #0"])
    assert len(kept) == 4 and left_out == [] and claims.left_out(left_out) == ""
    every = claims.claim("t", "text", "criterion", {}, "summary", True, runs=ids)
    assert claims.judged(every, ["a #0", "c #0"])["unconverged"] == ["a #0", "c #0"]
    assert claims.judged(every, ["a #0", "c #0"])["supported"] is None


def test_quick_is_256_px_unless_a_size_is_given():
    p = settings.parser("d", fig5.DEFAULTS)
    assert settings.parse(p, [], fig5.DEFAULTS)[1].size == settings.FULL_SIZE == 512
    assert settings.parse(p, ["--quick"], fig5.DEFAULTS)[1].size == settings.QUICK_SIZE == 256
    assert settings.parse(p, ["--quick", "--size", "64"], fig5.DEFAULTS)[1].size == 64
    config = fig5.DEFAULTS
    assert (config.stop_tolerance, config.stop_pixels, config.stop_window) == (1e-3, 0.1, 100)
    # a cap, not a budget: from the paper's white-noise start the loss settles only after
    # thousands of evaluations
    for script in (fig1_content, fig1_style, fig2, fig3, fig4, fig5, start, sample):
        assert script.DEFAULTS.iterations >= settings.CAP >= 5000, script.NAME


def test_grain_measures_speckle_and_clipped_channels():
    flat = np.full((8, 8, 3), 128.0)
    assert measures.grain(flat) == {"speckle": 0.0, "clipped": 0.0}
    checker = np.indices((8, 8)).sum(axis=0)[..., None] % 2 * np.array([255.0, 0.0, 255.0])
    measured = measures.grain(checker)
    assert measured["clipped"] == 1.0
    # every interior pixel's four neighbours differ from it by the luminance of (255, 0, 255)
    assert measured["speckle"] == pytest.approx(4 * (0.299 + 0.114) * 255, rel=1e-3)


def test_monotone_helpers():
    assert claims.strictly_decreasing([3, 2, 1]) and not claims.strictly_decreasing([3, 3, 1])
    assert claims.strictly_increasing([1, 2, 3]) and not claims.strictly_increasing([1, 1, 3])


def test_json():
    assert experiment.jsonable({"x": np.float32(1.5), "ok": np.bool_(True), "inf": float("inf"),
                                "a": np.arange(2)}) == {"x": 1.5, "ok": True, "inf": None,
                                                        "a": [0, 1]}


@pytest.mark.subprocess
def test_reproduce_script_stops_when_an_experiment_is_interrupted(tmp_path):
    """An experiment that exits with experiment.INTERRUPTED stops the script (the next command
    resumes); one that fails is reported and the next experiment still runs."""
    log = tmp_path / "ran"
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho "$2" >> {log}\ncase "$2" in paper.fig2) exit 1;; '
                    f'paper.fig3) exit {experiment.INTERRUPTED};; esac\n')
    fake.chmod(0o755)
    script = settings.ROOT / "scripts" / "reproduce_paper.sh"
    done = subprocess.run(["bash", str(script), "--quick"], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": str(fake),
                               "ONLY": "fig1_content fig2 fig3 fig4"})
    assert done.returncode == experiment.INTERRUPTED
    assert log.read_text().split() == ["paper.fig1_content", "paper.fig2", "paper.fig3"]
    assert "fig3 interrupted" in done.stderr and "fig2 FAILED" in done.stderr


def test_grid_row_labels_fit_their_panels():
    """A row label longer than its panel is tall (at 7 points) breaks after a layer range's
    dots; a short one stays on one line."""
    assert figures._fitted("conv1_1", 0.93) == "conv1_1"
    assert figures._fitted("conv1_1..conv5_1", 0.93) == "conv1_1..\nconv5_1"
    assert figures._fitted("conv1_1..conv5_1", 2.0) == "conv1_1..conv5_1"
