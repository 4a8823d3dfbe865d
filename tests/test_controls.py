"""The practitioners' controls: original colours, blended styles, style scale, spatial masks."""

import numpy as np
import pytest
from skimage import color

from gatys_jax import cli
from gatys_jax.config import StyleConfig
from gatys_jax.controls import colors, masks
from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.io import samples
from gatys_jax.problem import Masks
from gatys_jax.transfer import stylize, stylize_batch

from conftest import CONTENT, OTHER_STYLE, STYLE

BASE = dict(size=32, iterations=3)
real_weights = pytest.mark.real_weights


@pytest.fixture(scope="module")
def runs():
    """run(name) -> Result, each computed once per module."""
    content_mask = np.zeros((300, 451, 3))
    content_mask[:, :225] = (255, 0, 0)
    content_mask[:, 225:] = (0, 0, 255)
    red, blue = np.zeros((320, 512, 3)), np.zeros((353, 512, 3))
    red[...] = (255, 0, 0)
    blue[...] = (0, 0, 255)
    settings = {
        "plain": (STYLE, {}),
        "blend_1_0": ([STYLE, OTHER_STYLE], {"blend": (1.0, 0.0)}),
        "luminance": (STYLE, {"preserve_colors": "luminance"}),
        "one_region": (STYLE, {"masks": Masks(np.full((300, 451, 3), 200.0),
                                              [np.full((320, 512, 3), 200.0)])}),
        "two_paintings": ([STYLE, OTHER_STYLE], {"blend": (0.5, 0.5),
                                                  "masks": Masks(content_mask, [red, blue]),
                                                  "iterations": 40}),
    }
    cache = {}

    def run(name):
        if name not in cache:
            styles, options = settings[name]
            cache[name] = stylize_batch(CONTENT, styles, **{**BASE, **options})
        return cache[name]

    return run


@real_weights
def test_luminance_mode_keeps_the_content_chroma(runs):
    result = runs("luminance")
    content = np.asarray(samples.load(CONTENT))
    from gatys_jax.io import images
    content = images.resize(content, *result.image.shape[:2])
    iq = lambda rgb: color.rgb2yiq(np.asarray(rgb, np.float64) / 255)[..., 1:] * 255
    assert np.abs(iq(result.image) - iq(np.round(content))).max() <= 1.0
    # the luminance did change: the transfer happened
    assert np.abs(colors.luminance(result.image) - colors.luminance(content)).mean() > 5


def test_histogram_matching_gives_the_style_the_content_mean_and_covariance():
    content, style = samples.load(CONTENT), samples.load(STYLE)
    matched = colors.match_histogram(style, content)
    flat = lambda image: np.asarray(image, np.float64).reshape(-1, 3)
    np.testing.assert_allclose(flat(matched).mean(0), flat(content).mean(0), rtol=1e-3)
    np.testing.assert_allclose(np.cov(flat(matched), rowvar=False),
                               np.cov(flat(content), rowvar=False), rtol=1e-3)
    assert matched.shape == style.shape


@real_weights
def test_blend_one_zero_is_the_first_style_alone(runs):
    alone, blended = runs("plain"), runs("blend_1_0")
    assert len(blended.images) == 1 and blended.images[0].style == f"{STYLE}+{OTHER_STYLE}"
    assert blended.images[0].losses["total_loss"] == pytest.approx(
        alone.images[0].losses["total_loss"], rel=1e-5)
    assert np.abs(blended.image.astype(int) - alone.image.astype(int)).max() <= 1


def test_blend_weights_are_checked_and_normalized():
    assert StyleConfig(blend=(3, 1)).blend == (0.75, 0.25)
    for bad in ((-1, 2), (0, 0), (float("nan"), 1)):
        with pytest.raises(ConfigError, match="blend"):
            StyleConfig(blend=bad)
    with pytest.raises(ConfigError, match="2 weights for 1 style"):
        stylize(CONTENT, STYLE, blend=(0.5, 0.5), **BASE)


@real_weights
def test_a_mask_of_one_region_equals_the_unmasked_run(runs):
    plain, masked = runs("plain"), runs("one_region")
    assert masked.images[0].losses["total_loss"] == pytest.approx(
        plain.images[0].losses["total_loss"], rel=1e-5)
    assert np.abs(masked.image.astype(int) - plain.image.astype(int)).max() <= 1


@real_weights
def test_two_regions_take_their_style_from_two_paintings(runs):
    result = runs("two_paintings")
    left, right = result.image[:, :16].astype(float), result.image[:, 16:].astype(float)
    starry, shipwreck = (np.asarray(samples.load(name)).reshape(-1, 3).mean(0)
                         for name in (STYLE, OTHER_STYLE))
    # the halves' mean colours differ in the direction the paintings' do (the photo's own
    # colours are common to both halves)
    mean = lambda half: half.reshape(-1, 3).mean(0)
    assert np.dot(mean(left) - mean(right), starry - shipwreck) > 0


def test_style_scale_resizes_the_style_before_its_grams():
    from gatys_jax.problem import style_shape
    assert style_shape(StyleConfig(style_scale=2.0), (21, 32)) == (42, 64)
    assert style_shape(StyleConfig(), (21, 32)) == (21, 32)
    with pytest.raises(ConfigError, match="style_scale"):
        StyleConfig(style_scale=0.0)


def test_mask_labels_and_errors():
    mask = np.zeros((20, 20, 3))
    mask[:, 10:] = (255, 0, 0)
    mask[0, 0] = (1, 1, 1)  # an anti-aliased speck (under 1% of the pixels): not a region
    assert masks.labels_of(mask) == [(0, 0, 0), (255, 0, 0)]
    one_hot = masks.one_hot(mask, [(0, 0, 0), (255, 0, 0)])
    assert one_hot.shape == (2, 20, 20) and np.all(one_hot.sum(0) == 1)
    # black (unstyled) pixels belong to no styled region
    styled_only = masks.one_hot(mask, [(255, 0, 0)])
    assert styled_only.sum() == 200 and np.all(styled_only[0, :, :10] == 0)
    green = np.zeros((10, 10, 3))
    green[...] = (0, 255, 0)
    with pytest.raises(GatysError, match="does not"):
        masks.regions(mask, [green])
    with pytest.raises(GatysError, match="which no style mask has"):
        masks.regions(mask, [np.zeros((10, 10, 3))])
    assert masks.regions(mask, [np.full((10, 10, 3), (255.0, 0, 0))]) == [(255, 0, 0)]


@pytest.mark.parametrize("argv, words", [
    (["--content-mask", "{tmp}/small.png", "--style-mask", "{tmp}/style.png"],
     "--content-mask is 10x10 px but the content image is 451x300"),
    (["--content-mask", "{tmp}/content.png", "--style-mask", "{tmp}/green.png"],
     "does not"),
    (["--content-mask", "{tmp}/content.png"], "--content-mask and a style mask go together"),
    (["--blend", "1,-1"], "--blend must be non-negative"),
])
def test_bad_controls_are_one_line_errors(tmp_path, capsys, argv, words):
    from gatys_jax.io import images
    images.save(np.zeros((10, 10, 3)), tmp_path / "small.png")
    content = np.zeros((300, 451, 3))
    content[:, 200:] = (255, 0, 0)
    images.save(content, tmp_path / "content.png")
    images.save(np.full((320, 512, 3), (255.0, 0, 0)), tmp_path / "style.png")
    images.save(np.full((320, 512, 3), (0, 255.0, 0)), tmp_path / "green.png")
    out = tmp_path / "out" / "o.png"
    out.parent.mkdir()
    code = cli.main(["stylize", CONTENT, STYLE, "-o", str(out), "--size", "32",
                     *[a.replace("{tmp}", str(tmp_path)) for a in argv]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err, err
    assert list(out.parent.iterdir()) == []


@real_weights
def test_controls_combine_with_batches():
    """Colours, style scale and masks together, over seeds x content weights: each image of
    the batch equals its own single run. (The controls live in the objective and its targets,
    which every optimizer shares; test_batch covers batches under each optimizer.)"""
    settings = dict(BASE, preserve_colors="luminance", style_scale=1.5,
                    content_mask="rocket_mask", style_mask=("starry_night_mask",))
    batch = stylize_batch("rocket", [STYLE], content_weights=[1e-3, 1e-2], seeds=[0, 1],
                          **settings)
    assert len(batch.images) == 4
    last = batch.images[-1]
    alone = stylize("rocket", STYLE, content_weight=last.config.content_weight,
                    seed=last.config.seed, **settings)
    assert last.losses["total_loss"] == pytest.approx(alone.images[0].losses["total_loss"],
                                                      rel=1e-4)
    assert np.abs(last.image.astype(int) - alone.image.astype(int)).max() <= 1
