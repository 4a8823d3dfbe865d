"""Batches across photographs: several content images of one output size in one compiled
program, combined with styles, λ values and seeds."""

import numpy as np
import pytest

from gatys_jax.errors import GatysError
from gatys_jax.io import images, inputs
from gatys_jax.transfer import stylize, stylize_batch

from conftest import random_weights

RUN = dict(size=32, start_size=None, iterations=4)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Two photographs of one size (crops of bundled ones) and one of another aspect."""
    folder = tmp_path_factory.mktemp("photos")
    cat = images.save(inputs.read("chelsea")[:, :300], folder / "cat.png")
    coffee = images.save(inputs.read("coffee")[:300, :300], folder / "coffee.png")
    wide = images.save(inputs.read("coffee"), folder / "wide.png")
    return cat, coffee, wide


def test_each_photograph_of_a_batch_is_the_image_it_makes_in_a_batch_of_its_own(photos,
                                                                              tmp_path):
    """A batch of two photographs gives each the pixels it gets in a batch of the same size
    made of itself alone (every image of a batch is optimized apart), and close to its
    unbatched single run (batched convolutions round differently)."""
    cat, coffee, _ = photos
    vgg = random_weights()
    both = stylize_batch([cat, coffee], ["starry_night"], vgg=vgg, output=tmp_path / "b.png",
                         **RUN)
    assert [entry.content for entry in both.images] == ["cat", "coffee"]
    assert [entry.output.name for entry in both.images] == ["b_cat.png", "b_coffee.png"]
    for photo, entry in zip((cat, coffee), both.images):
        alone = stylize_batch(photo, ["starry_night"], vgg=vgg, seeds=[0, 1], **RUN)
        np.testing.assert_array_equal(entry.image, alone.images[0].image)
        single = stylize(photo, "starry_night", vgg=vgg, **RUN)
        assert np.abs(single.image.astype(int) - entry.image.astype(int)).max() <= 2
        assert entry.losses["total_loss"] == pytest.approx(
            alone.images[0].losses["total_loss"], rel=1e-6)
    assert both.facts["contents"] == ["cat", "coffee"] and both.batch_size == 2


def test_photographs_combine_with_styles_and_seeds_content_major(photos, tmp_path):
    cat, coffee, _ = photos
    result = stylize_batch([cat, coffee], ["starry_night", "shipwreck"], seeds=[0, 1],
                           vgg=random_weights(), **{**RUN, "iterations": 1})
    assert [(e.content, e.style, e.config.seed) for e in result.images] == [
        (c, s, seed) for c in ("cat", "coffee") for s in ("starry_night", "shipwreck")
        for seed in (0, 1)]
    assert set(result.references) == {f"{c}/{s}" for c in ("cat", "coffee")
                                      for s in ("starry_night", "shipwreck")}


def test_photographs_of_different_sizes_are_refused_before_any_work(photos, tmp_path):
    cat, _, wide = photos
    with pytest.raises(GatysError, match="must give one output size: cat gives 32x32 px, "
                                         "wide 32x21"):
        stylize_batch([cat, wide], ["starry_night"], vgg=random_weights(),
                      output=tmp_path / "x.png", **RUN)
    assert not list(tmp_path.iterdir())
