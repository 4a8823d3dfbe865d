"""Figures 3 and 4 (python -m paper.fig3, paper.fig4) end to end with the real weights, and
Figure 4's lambda batch against separate runs."""

import numpy as np
import pytest
from PIL import Image

from gatys_jax.config import StyleConfig
from gatys_jax.transfer import stylize
from paper import claims, fig3, fig4

from conftest import CONTENT, OTHER_STYLE, STYLE
from paper_checks import FIG4_ITERATIONS

real_weights = pytest.mark.real_weights
# a few iterations at 32 px barely move the noise: two images can round to the same uint8
# image, whose measures are then equal and their rank correlation undefined (nan)
pytestmark = pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")


@pytest.mark.slow
@real_weights
def test_fig3(paper_runs):
    metrics = paper_runs.checked(
        "fig3", {"content_and_style_combined", "smaller_lambda_more_style"}, 4)
    # on this CPU (--batching auto) one run per painting and lambda, one image at a time
    assert metrics["programs"] == [{"style": s, "images": 2, "batch_size": 1, "batches": 2}
                                   for s in (OTHER_STYLE, STYLE)]
    assert [r["label"] for r in metrics["runs"]] == [
        f"{s}, lambda {w:g}" for s in (OTHER_STYLE, STYLE) for w in fig3.CONTENT_WEIGHTS]
    assert [(i["run"], i["index"]) for i in metrics["images"]] == [
        (s, k) for s in (OTHER_STYLE, STYLE) for k in range(2)]
    assert {(r["style"], r["content_weight"]) for r in metrics["results"]} == {
        (s, w) for s in (OTHER_STYLE, STYLE) for w in (1e-3, 1e-4)}


@pytest.mark.slow
def test_fig3_styles_default_to_the_bundled_paintings():
    assert set(fig3.STYLES.split(",")) == {"shipwreck", "starry_night", "woman_with_hat"}


@pytest.mark.slow
@real_weights
def test_fig4(paper_runs):
    metrics = paper_runs.checked("fig4", {"lambda_trades_style_for_content",
                                          "higher_layers_larger_structures",
                                          "one_program_per_row"}, 8)
    one_program = next(c for c in metrics["claims"] if c["id"] == "one_program_per_row")
    assert one_program["supported"]
    assert [r["batches"] for r in metrics["runs"]] == [1, 1]
    assert [r["batch_size"] for r in metrics["runs"]] == [4, 4]
    # the scale claim measures each lambda's column as fig1_style does: both measures
    scale = next(c for c in metrics["claims"] if c["id"] == "higher_layers_larger_structures")
    assert set(scale["measured"]) == {f"{w:g}" for w in fig4.CONTENT_WEIGHTS}
    # ... and rests on the style-dominated columns' images (the first two lambdas)
    assert sorted(scale["runs"]) == sorted(claims.image_id(label, index)
                                           for label in ("conv1_1", "conv1_1..conv2_1")
                                           for index in (0, 1))
    for column in scale["measured"].values():
        for measure in ("autocorrelation_length_px", "spectral_wavelength_px"):
            rho = column[f"spearman_{measure}"]  # None where a measure ties: rho undefined
            assert len(column[measure]) == 2 and (rho is None or -1 <= rho <= 1)


@pytest.mark.slow
@real_weights
def test_fig4_lambda_batch_equals_separate_runs(paper_runs, normalized_weights_path):
    """One vmapped program over the four lambdas gives what four single-lambda runs give:
    losses (every evaluation) within 5e-4 relative, images within one uint8 level. A wrong
    lambda, or optimizer state shared across the batch, is off by far more.

    Batch-of-4 and batch-of-1 convolutions differ in rounding only, which the steps amplify:
    Adam's per-pixel step m / sqrt(v) moves a pixel whose gradient is rounding-sized by a
    whole step, in a sign the rounding decides, so the losses part at the 1e-5 level within
    ten steps on some CPUs. L-BFGS amplifies it further, through its curvature pairs
    y = g1 - g0: a property of the optimizers on float32 gradients, not of the batching."""
    metrics = paper_runs("fig4")
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
        batched = np.asarray(Image.open(paper_runs.out / "fig4" / entry["image"]), np.int16)
        assert np.max(np.abs(batched - result.image.astype(np.int16))) <= 1
