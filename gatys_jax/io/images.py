"""Image files: read (any Pillow mode, EXIF orientation, a pixel limit checked from the header
before decoding), resize, and write atomically.

Images in memory are float32 RGB arrays of shape (H, W, 3) with values 0..255.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.io.files import check_regular, check_writable, write_atomic

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
MAX_MEGAPIXELS = 64.0  # default limit on an input's pixel count (larger phone photos exist)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """RGB 0..255 floats -> uint8, rounded and clipped: what an 8-bit image file holds."""
    return np.clip(np.round(np.asarray(image, np.float32)), 0, 255).astype(np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB of any mode; transparency is composited onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.round(array / peak * 255), 0, 255).astype(np.uint8))
    if image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


@contextlib.contextmanager
def _opened(path: Path):
    """Image.open without Pillow's own decompression-bomb limit: `header_size` and `load`
    check the project's limit from the header instead."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as image:
            yield image
    except UnidentifiedImageError:
        raise GatysError(f"{path} is not an image file Pillow can read") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise GatysError(f"cannot read image {path}: {e}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _check_finite(path: Path, image: Image.Image) -> None:
    """Float images (32-bit TIFF) may hold NaN or infinity, which no pixel value means."""
    if image.mode == "F" and not np.all(np.isfinite(np.asarray(image))):
        raise GatysError(f"image {path} holds non-finite pixels (NaN or infinity): save it "
                         "with finite values")


def _check_pixels(path: Path, width: int, height: int, max_megapixels: float) -> None:
    if width * height > max_megapixels * 1e6:
        raise ConfigError(
            "max_megapixels", f"is {max_megapixels:g} MP, below the {width}x{height} px "
            f"({width * height / 1e6:.0f} MP) of image {path}: the limit guards against "
            "decompression bombs; raise it if the image is genuine")


def header_size(path: str | Path, max_megapixels: float = MAX_MEGAPIXELS) -> tuple[int, int]:
    """(height, width) of an image file as displayed (EXIF orientation), from its header only."""
    path = Path(path)
    check_regular(path, "image")
    with _opened(path) as image:
        width, height = image.size
        _check_pixels(path, width, height, max_megapixels)
        if image.getexif().get(0x0112) in (5, 6, 7, 8):  # orientations that swap the axes
            width, height = height, width
    return height, width


def load(path: str | Path, max_megapixels: float = MAX_MEGAPIXELS) -> np.ndarray:
    """Read an image file as float32 RGB (H, W, 3) in 0..255, EXIF orientation applied."""
    path = Path(path)
    check_regular(path, "image")
    with _opened(path) as image:
        _check_pixels(path, *image.size, max_megapixels)
        _check_finite(path, image)
        rgb = _to_rgb(ImageOps.exif_transpose(image))
        return np.asarray(rgb, dtype=np.float32)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Lanczos resize of a float RGB image; returns the input itself when the size matches."""
    if image.shape[:2] == (height, width):
        return image
    channels = [Image.fromarray(np.ascontiguousarray(image[..., c], np.float32), mode="F")
                .resize((width, height), Image.LANCZOS) for c in range(3)]
    return np.clip(np.stack([np.asarray(c) for c in channels], -1), 0, 255).astype(np.float32)


def resize_area(channel: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-averaging resize of one float channel (H, W): each output pixel is the mean of the
    input pixels it covers."""
    if channel.shape == (height, width):
        return np.asarray(channel, np.float32)
    return np.asarray(Image.fromarray(np.asarray(channel, np.float32), mode="F")
                      .resize((width, height), Image.BOX), np.float32)


def size_for_long_side(height: int, width: int, long_side: int | None) -> tuple[int, int]:
    """(height, width) scaled so that the longer side is `long_side` (None: unchanged)."""
    if long_side is None:
        return height, width
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_long_side(image: np.ndarray, long_side: int | None) -> np.ndarray:
    """Resize so that max(H, W) == long_side (no resampling when it already is)."""
    return resize(image, *size_for_long_side(*image.shape[:2], long_side))


def check_image_name(path: str | Path) -> Path:
    """An output image's name must say a format the project writes."""
    path = Path(path)
    if path.suffix.lower() not in SAVE_FORMATS:
        raise GatysError(f"output {path} must end in .png, .jpg or .jpeg")
    return path


def check_output_path(path: str | Path) -> Path:
    """Fail early, before any work, when `path` cannot be written as an image."""
    return check_writable(check_image_name(path), "output image")


def save(image: np.ndarray, path: str | Path) -> Path:
    """Write RGB 0..255 (clipped, rounded) to PNG or JPEG atomically (temp file, then rename)."""
    path = check_output_path(path)
    file_format = SAVE_FORMATS[path.suffix.lower()]
    options = {"quality": 95} if file_format == "JPEG" else {}
    pixels = Image.fromarray(to_uint8(image))
    return write_atomic(path, lambda tmp: pixels.save(tmp, format=file_format, **options))
