"""Images: every Pillow mode, EXIF orientation, resizing, network conventions, atomic save."""

import os

import numpy as np
import pytest
from PIL import Image

from gatys_jax.errors import GatysError
from gatys_jax.io import images
from gatys_jax.io.images import to_uint8
from gatys_jax.model.convention import CAFFE, TORCHVISION, from_network, to_network

H, W = 6, 10


def rgb_pattern() -> np.ndarray:
    """A (H, W, 3) uint8 image with distinct values per pixel and channel."""
    y, x = np.mgrid[:H, :W]
    return np.stack([x * 25, y * 40, (x + y) * 15 % 256], -1).astype(np.uint8)


def gray_pattern() -> np.ndarray:
    y, x = np.mgrid[:H, :W]
    return ((x * 7 + y * 30) % 256).astype(np.uint8)


def alpha_pattern() -> np.ndarray:
    """Opaque left column, transparent right column, half-transparent elsewhere."""
    alpha = np.full((H, W), 128, np.uint8)
    alpha[:, 0], alpha[:, -1] = 255, 0
    return alpha


def over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None].astype(np.float64) / 255
    return rgb.astype(np.float64) * a + 255 * (1 - a)


def check_rgb(loaded: np.ndarray, expected: np.ndarray, atol: float = 0.0) -> None:
    assert loaded.dtype == np.float32
    assert loaded.shape == (H, W, 3)
    np.testing.assert_allclose(loaded, np.broadcast_to(expected, (H, W, 3)), atol=atol)


def test_rgb(tmp_path):
    Image.fromarray(rgb_pattern()).save(tmp_path / "a.png")
    check_rgb(images.load(tmp_path / "a.png"), rgb_pattern())


def test_rgba_is_composited_onto_white(tmp_path):
    rgba = np.dstack([rgb_pattern(), alpha_pattern()])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    loaded = images.load(tmp_path / "a.png")
    check_rgb(loaded, over_white(rgb_pattern(), alpha_pattern()), atol=1.0)
    np.testing.assert_array_equal(loaded[:, 0], rgb_pattern()[:, 0])  # opaque: unchanged
    np.testing.assert_array_equal(loaded[:, -1], 255)  # transparent: white


def test_l_is_replicated_to_three_channels(tmp_path):
    Image.fromarray(gray_pattern(), "L").save(tmp_path / "a.png")
    check_rgb(images.load(tmp_path / "a.png"), gray_pattern()[..., None])


def test_la(tmp_path):
    la = np.dstack([gray_pattern(), alpha_pattern()])
    Image.fromarray(la, "LA").save(tmp_path / "a.png")
    check_rgb(images.load(tmp_path / "a.png"),
              over_white(np.repeat(gray_pattern()[..., None], 3, -1), alpha_pattern()), atol=1.0)


def test_p_uses_the_palette(tmp_path):
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    indices = (np.arange(H * W).reshape(H, W) % 4).astype(np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette(palette)
    image.save(tmp_path / "a.png")
    assert Image.open(tmp_path / "a.png").mode == "P"
    colors = np.array(palette, np.uint8).reshape(4, 3)
    check_rgb(images.load(tmp_path / "a.png"), colors[indices])


def test_p_with_transparency_is_composited_onto_white(tmp_path):
    indices = (np.arange(H * W).reshape(H, W) % 2).astype(np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette([200, 0, 0, 0, 0, 0])
    image.info["transparency"] = 1
    image.save(tmp_path / "a.png", transparency=1)
    expected = np.where(indices[..., None] == 0, [200, 0, 0], [255, 255, 255])
    check_rgb(images.load(tmp_path / "a.png"), expected)


def test_cmyk(tmp_path):
    cmyk = np.zeros((H, W, 4), np.uint8)
    cmyk[:, : W // 2, 0] = 255  # full cyan on the left half, white on the right
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "a.tif")
    assert Image.open(tmp_path / "a.tif").mode == "CMYK"
    expected = np.where(np.arange(W)[None, :, None] < W // 2, [0, 255, 255], [255, 255, 255])
    check_rgb(images.load(tmp_path / "a.tif"), np.broadcast_to(expected, (H, W, 3)))


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (W, H), (0, 0, 0, 0)).save(tmp_path / "a.jpg")
    assert Image.open(tmp_path / "a.jpg").mode == "CMYK"
    check_rgb(images.load(tmp_path / "a.jpg"), 255, atol=2.0)


def test_i16_is_scaled_from_16_bits(tmp_path):
    values = (np.arange(H * W).reshape(H, W) * 1111).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "a.png")
    assert Image.open(tmp_path / "a.png").mode.startswith("I")
    check_rgb(images.load(tmp_path / "a.png"), np.round(values / 65535 * 255)[..., None])


def test_exif_orientation_is_applied(tmp_path):
    """Orientation 6: the stored image must be turned 90 degrees clockwise to display."""
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)  # red left half, black right half
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "a.jpg", exif=exif, quality=95)
    loaded = images.load(tmp_path / "a.jpg")
    assert loaded.shape == (40, 20, 3)
    # Turned clockwise, the left half goes on top.
    assert loaded[:15, :, 0].mean() > 240 and loaded[:15, :, 1].mean() < 15
    assert loaded[25:].max() < 15
    # The same file without the tag keeps its stored shape.
    Image.fromarray(stored).save(tmp_path / "b.jpg", quality=95)
    assert images.load(tmp_path / "b.jpg").shape == (20, 40, 3)


# ---------------------------------------------------------------- resizing


@pytest.mark.parametrize("shape, long_side, expected", [
    ((30, 60, 3), 20, (10, 20, 3)),
    ((60, 30, 3), 20, (20, 10, 3)),
    ((48, 64, 3), 128, (96, 128, 3)),
    ((7, 1000, 3), 100, (1, 100, 3)),
])
def test_resize_long_side(shape, long_side, expected):
    image = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    resized = images.resize_long_side(image, long_side)
    assert resized.shape == expected and resized.dtype == np.float32
    assert 0 <= resized.min() and resized.max() <= 255


def test_resize_keeps_a_constant_image_constant():
    resized = images.resize_long_side(np.full((30, 40, 3), 77.0, np.float32), 100)
    np.testing.assert_allclose(resized, 77.0, atol=1e-3)


def test_no_resampling_when_already_that_size():
    image = np.random.default_rng(0).uniform(0, 255, (30, 40, 3)).astype(np.float32)
    assert images.resize_long_side(image, 40) is image
    assert images.resize_long_side(image, None) is image
    assert images.resize(image, 30, 40) is image


# ---------------------------------------------------------------- conventions


@pytest.mark.parametrize("convention", [CAFFE, TORCHVISION], ids=["caffe", "torchvision"])
def test_to_network_and_back(convention):
    rgb = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    x = to_network(rgb, convention)
    assert x.dtype == np.float32 and x.shape == rgb.shape
    np.testing.assert_allclose(from_network(x, convention), rgb, rtol=1e-5, atol=1e-3)


def test_caffe_convention_is_bgr_minus_mean():
    rgb = np.zeros((1, 1, 3), np.float32)
    rgb[0, 0] = (10, 20, 30)
    np.testing.assert_allclose(to_network(rgb, CAFFE)[0, 0],
                               (30 - 103.939, 20 - 116.779, 10 - 123.68), rtol=1e-6)


def test_to_uint8_rounds_and_clips():
    values = np.array([[[-3.0, 0.4, 0.6], [254.5, 255.4, 300.0]]], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [[[0, 0, 1], [254, 255, 255]]])
    assert to_uint8(values).dtype == np.uint8


def test_torchvision_convention_is_rgb_unit_mean_std():
    rgb = np.full((1, 1, 3), 255, np.float32)
    np.testing.assert_allclose(to_network(rgb, TORCHVISION)[0, 0],
                               [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225],
                               rtol=1e-6)


# ---------------------------------------------------------------- saving


def test_atomic_save_png_is_lossless_and_leaves_no_temporary_files(tmp_path):
    image = rgb_pattern().astype(np.float32) + 0.3  # rounded on save
    out = images.save(image, tmp_path / "out.png")
    assert out == tmp_path / "out.png"
    assert os.listdir(tmp_path) == ["out.png"]
    np.testing.assert_array_equal(images.load(out), rgb_pattern())


def test_save_clips_to_0_255(tmp_path):
    image = np.zeros((H, W, 3), np.float32)
    image[:, :5], image[:, 5:] = -50, 300
    loaded = images.load(images.save(image, tmp_path / "out.png"))
    np.testing.assert_array_equal(loaded[:, :5], 0)
    np.testing.assert_array_equal(loaded[:, 5:], 255)


@pytest.mark.parametrize("name", ["out.jpg", "OUT.JPEG"])
def test_atomic_save_jpeg(tmp_path, name):
    image = np.full((16, 16, 3), (200, 100, 50), np.float32)
    out = images.save(image, tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    with Image.open(out) as saved:
        assert saved.format == "JPEG"
    np.testing.assert_allclose(images.load(out), image, atol=3)


def test_save_overwrites_atomically(tmp_path):
    out = tmp_path / "out.png"
    images.save(np.zeros((H, W, 3)), out)
    images.save(np.full((H, W, 3), 255.0), out)
    assert os.listdir(tmp_path) == ["out.png"]
    np.testing.assert_array_equal(images.load(out), 255)


def test_failed_save_leaves_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    old = tmp_path / "old.png"
    images.save(np.zeros((H, W, 3)), old)

    def half_written(self, fp, *args, **kwargs):
        with open(fp, "wb") as f:
            f.write(b"\x89PNG partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_written)
    for name in ("new.png", "old.png", "new.jpg"):
        with pytest.raises(GatysError, match="No space left"):
            images.save(np.full((H, W, 3), 255.0), tmp_path / name)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["old.png"]
    np.testing.assert_array_equal(images.load(old), 0)


@pytest.mark.parametrize("name, message", [
    ("out.gif", "must end in .png, .jpg or .jpeg"),
    ("out", "must end in"),
    ("missing_folder/out.png", "does not exist"),
])
def test_bad_output_paths(tmp_path, name, message):
    with pytest.raises(GatysError, match=message):
        images.save(np.zeros((H, W, 3)), tmp_path / name)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- bad input


def test_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("this is not a picture\n")
    with pytest.raises(GatysError, match="not an image"):
        images.load(tmp_path / "notes.jpg")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(GatysError, match="empty.png"):
        images.load(tmp_path / "empty.png")


def test_truncated_image(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(
        tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(GatysError, match="cut.png"):
        images.load(tmp_path / "cut.png")


def test_missing(tmp_path):
    with pytest.raises(GatysError, match="not found"):
        images.load(tmp_path / "nope.png")


def test_a_folder_is_not_an_image(tmp_path):
    with pytest.raises(GatysError, match=str(tmp_path.name)):
        images.load(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_unreadable(tmp_path):
    path = tmp_path / "secret.png"
    Image.fromarray(rgb_pattern()).save(path)
    path.chmod(0)
    try:
        with pytest.raises(GatysError, match="secret.png"):
            images.load(path)
    finally:
        path.chmod(0o644)


def test_permission_error_becomes_a_gatys_error(tmp_path, monkeypatch):
    """The unreadable case even as root: opening raises PermissionError."""
    path = tmp_path / "secret.png"
    Image.fromarray(rgb_pattern()).save(path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", denied)
    with pytest.raises(GatysError, match="Permission denied"):
        images.load(path)
