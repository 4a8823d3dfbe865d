"""The sample and the normalized network (python -m paper.sample, paper.normalization) end to
end with the real weights, and claims judged on images that converged."""

import pytest

from gatys_jax.model.layers import LAYERS
from paper import sample

from conftest import CONTENT, STYLE

real_weights = pytest.mark.real_weights


@pytest.mark.slow
@real_weights
def test_sample(paper_runs):
    metrics = paper_runs.checked("sample", {"content_and_style"}, 1)
    (entry,) = metrics["results"]
    assert {"style_distance", "content_distance", "speckle"} <= set(entry)
    assert metrics["settings"]["content_weight"] == sample.CONTENT_WEIGHT == 2e-3


@pytest.mark.slow
@real_weights
def test_normalization(paper_runs):
    metrics = paper_runs.checked("normalization", {"mean_activation_one", "lambda_transfers"}, 4)
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
