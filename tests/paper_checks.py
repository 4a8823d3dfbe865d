"""The paper scripts' tiny runs (python -m paper.<figure> at 32 px with the real weights) and
the checks of what they write, shared by the test_paper_* modules.

Every stylize_batch call compiles its program (seconds on CPU, more for deeper layers), so the
runs are few, small and shallow where the claim allows, and each runs once (TinyRuns).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gatys_jax.problem import read_inputs
from paper import fig1_content, fig1_style, fig2, fig3, fig4, fig5, normalization, sample, start
from paper.claims import image_id

from conftest import CONTENT, OTHER_STYLE, STYLE

TINY = ["--size", "32", "--iterations", "3"]
SHAPE = (21, 32, 3)  # the cat photo (300x451) at long side 32
FIG4_ITERATIONS = 10
METRICS_KEYS = {"experiment", "description", "settings", "claims", "results", "images",
                "converged", "grid", "runs", "wall_seconds", "backend", "device", "machine",
                "date"}
CLAIM_KEYS = {"id", "claim", "criterion", "measured", "summary", "supported",
              "needs_convergence", "runs", "unconverged"}
# each experiment's script and the arguments of its tiny run
RUNS = {
    "fig1_content": (fig1_content, TINY + ["--layers", "conv2_2,conv4_2"]),
    "fig1_style": (fig1_style, TINY + ["--style", STYLE, "--subsets", "1,2"]),
    "fig3": (fig3, TINY + ["--styles", f"{OTHER_STYLE},{STYLE}"]),
    # Adam here: see test_fig4_lambda_batch_equals_separate_runs; batched, as on a GPU
    "fig4": (fig4, ["--style", STYLE, "--size", "32", "--iterations", str(FIG4_ITERATIONS),
                    "--rows", "1,2", "--optimizer", "adam", "--batching", "on"]),
    "fig5": (fig5, TINY + ["--style", STYLE]),
    "init": (start, TINY + ["--style", STYLE]),
    "fig2": (fig2, TINY + ["--style", STYLE, "--snapshot-every", "1"]),
    "sample": (sample, TINY + ["--style", STYLE]),
    "normalization": (normalization, ["--size", "32", "--style", STYLE]),
}


class TinyRuns:
    """The experiments' tiny runs (RUNS) under the results root `out` with the normalized
    `weights`: runs(name) -> the metrics of experiment `name`, each run once."""

    def __init__(self, out: Path, weights: Path):
        self.out = out
        self.base = ["--content", CONTENT, "--out", str(out), "--weights", str(weights)]
        self.metrics: dict[str, dict] = {}

    def __call__(self, name: str) -> dict:
        if name not in self.metrics:
            module, args = RUNS[name]
            # normalization's image sets at the tests' size: two photographs at 32 px,
            # whatever the size asked (the real calibration compiles a forward pass per
            # photograph and size)
            photos = [read_inputs(photo, [], 32)[0][:21, :32] for photo in ("chelsea", "coffee")]
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(normalization.normalize, "calibration_images",
                              lambda size=256: photos)
                self.metrics[name] = module.main(self.base + args)
        return self.metrics[name]

    def checked(self, name: str, claim_ids: set, results: int) -> dict:
        """Experiment `name`'s metrics, checked against what it wrote (check_written)."""
        metrics = self(name)
        check_written(self.out, name, metrics, claim_ids, results)
        return metrics


def check_written(out: Path, name: str, metrics: dict, claim_ids: set, results: int):
    """Experiment `name` wrote `metrics` under `out`, with the claims `claim_ids` (each judged
    only where the images it rests on converged), `results` entries, its grid and images."""
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
                    or image_id(i["run"], i["index"]) in c["runs"]]
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
