"""The quality yardstick on synthetic cases, and the image measurements."""

import math

import numpy as np
import pytest

from gatys_jax import quality
from gatys_jax.io import samples
from gatys_jax.model.convention import CAFFE
from gatys_jax.weights import h5

from conftest import random_weights


def blurred_noise(sigma: float, shape=(96, 128), seed=0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter
    noise = np.random.default_rng(seed).standard_normal(shape)
    g = gaussian_filter(noise, sigma) if sigma else noise
    g = (g - g.mean()) / g.std() * 40 + 128
    return np.repeat(np.clip(g, 0, 255)[..., None], 3, axis=-1).astype(np.uint8)


@pytest.fixture(scope="module")
def yardstick():
    """On a random VGG19 (the yardstick's properties do not depend on the weights) with a
    smooth 'photo' and a striped 'painting'."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[:48, :64]
    photo = np.stack([128 + 60 * np.sin(x / 9), 128 + 50 * np.cos(y / 7), 100 + x], -1)
    painting = np.stack([255 * ((x // 3) % 2), 200 * ((y // 4) % 2), rng.uniform(0, 255, (48, 64))], -1)
    return quality.Yardstick(random_weights(2), photo.astype(np.float32),
                             [painting.astype(np.float32)])


def test_an_image_is_at_distance_zero_from_itself(yardstick):
    refs = yardstick.references()
    assert refs["content_image"]["content_distance"] == 0.0
    assert refs["style_image"]["style_distance"] == 0.0
    assert refs["content_image"]["style_distance"] > 0.1
    assert refs["style_image"]["content_distance"] > 0.1


def test_noise_raises_speckle(yardstick):
    photo = yardstick.content
    noisy = np.clip(photo + np.random.default_rng(3).normal(0, 20, photo.shape), 0, 255)
    assert quality.speckle(noisy) > 5 * quality.speckle(photo)
    assert quality.speckle(np.full((20, 20, 3), 90.0)) == 0.0
    # the 4-neighbour Laplacian of a checkerboard of 0 and 255: 4 x 255 at every pixel
    board = 255.0 * (np.add.outer(np.arange(10), np.arange(10)) % 2)
    assert quality.speckle(np.repeat(board[..., None], 3, -1)) == pytest.approx(4 * 255)


def test_a_known_texture_lowers_the_style_distance(yardstick):
    """Half the photo replaced by the painting's texture sits between the two."""
    mixed = yardstick.content.copy()
    mixed[:, 32:] = yardstick.styles[0][:, 32:]
    scores = yardstick(mixed)
    refs = yardstick.references()
    assert scores["style_distance"] < refs["content_image"]["style_distance"]
    assert 0 < scores["content_distance"] < refs["style_image"]["content_distance"]


def test_the_yardstick_is_the_same_on_the_plain_and_normalized_files(plain_weights_path,
                                                                      normalized_weights_path):
    photo = samples.load("chelsea")[::4, ::4]
    painting = samples.load("starry_night")
    scores = [quality.Yardstick(h5.load(path), photo, [painting]).references()
              for path in (plain_weights_path, normalized_weights_path)]
    for what in ("content_image", "style_image"):
        for key, value in scores[0][what].items():
            assert scores[1][what][key] == pytest.approx(value, rel=1e-4, abs=1e-6)


def test_plain_params_undo_the_normalization():
    vgg = random_weights(4)
    rng = np.random.default_rng(5)
    scales = {layer: rng.uniform(0.5, 2, params["bias"].shape).astype(np.float32)
              for layer, params in vgg.params.items()}
    from gatys_jax.weights import normalize
    normalized, _ = normalize.rescale(vgg, scales)
    restored = quality.plain_params(normalized)
    for layer, params in vgg.params.items():
        for name in ("kernel", "bias"):
            np.testing.assert_allclose(restored[layer][name], params[name], rtol=1e-5,
                                       atol=1e-6)
    assert normalized.convention == CAFFE


# ---------------------------------------------------------------- image measurements


def test_scale_measures_grow_with_structure_size():
    images = [blurred_noise(s) for s in (0, 1, 2, 4, 8)]
    acl = [quality.autocorrelation_length(im) for im in images]
    wavelength = [quality.spectral_wavelength(im) for im in images]
    assert acl == sorted(acl) and len(set(acl)) == len(acl), acl
    assert wavelength == sorted(wavelength) and len(set(wavelength)) == len(wavelength)
    # a Gaussian-blurred white noise has autocorrelation exp(-r^2 / (4 sigma^2)): 1/e at 2 sigma
    assert quality.autocorrelation_length(blurred_noise(4)) == pytest.approx(8.0, rel=0.2)


def test_psnr_ssim_and_layout():
    a = blurred_noise(2)
    b = np.clip(a.astype(np.int16) + 2, 0, 255).astype(np.uint8)
    assert quality.psnr(b, a) == pytest.approx(10 * math.log10(255 ** 2 / 4), abs=0.5)
    assert quality.ssim(a, a) == pytest.approx(1.0)
    assert quality.layout_correlation(a, a, 4.0) == pytest.approx(1.0)


def test_layout_difference_sees_colours_not_grain():
    flat = np.full((64, 96, 3), 128.0)
    checkerboard = 40.0 * (-1.0) ** np.add.outer(np.arange(64), np.arange(96))[..., None]
    grainy = flat + checkerboard * np.asarray([1.0, -1.0, 1.0])  # a colour grain of 40 levels
    assert np.mean(np.abs(grainy - flat)) == pytest.approx(40.0)
    assert quality.layout_difference(grainy, flat, 4.0) < 0.5
    # a shift of colour is kept at any blur (scipy's 'reflect' border keeps constants)
    assert quality.layout_difference(flat + [10.0, 0.0, -4.0], flat, 4.0) == pytest.approx(14 / 3)
