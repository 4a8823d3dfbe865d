"""Images: load (any Pillow mode, EXIF orientation), resize, network conventions, atomic save.

Images in memory are float32 RGB arrays of shape (H, W, 3) with values 0..255.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import GatysError
from .files import atomic_path
from .weights import InputConvention

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


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


def load(path: str | Path) -> np.ndarray:
    """Read an image file as float32 RGB (H, W, 3) in 0..255, EXIF orientation applied."""
    path = Path(path)
    if not path.exists():
        raise GatysError(f"image {path} not found")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image)
    except UnidentifiedImageError:
        raise GatysError(f"{path} is not an image file Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise GatysError(f"cannot read image {path}: {e}") from None
    return np.asarray(rgb, dtype=np.float32)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Lanczos resize of a float RGB image; returns the input itself when the size matches."""
    if image.shape[:2] == (height, width):
        return image
    channels = [Image.fromarray(np.ascontiguousarray(image[..., c], np.float32), mode="F")
                .resize((width, height), Image.LANCZOS) for c in range(3)]
    return np.clip(np.stack([np.asarray(c) for c in channels], -1), 0, 255).astype(np.float32)


def size_for_long_side(height: int, width: int, long_side: int) -> tuple[int, int]:
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_long_side(image: np.ndarray, long_side: int | None) -> np.ndarray:
    """Resize so that max(H, W) == long_side (no resampling when it already is)."""
    if long_side is None:
        return image
    return resize(image, *size_for_long_side(*image.shape[:2], long_side))


def to_network(image: np.ndarray, convention: InputConvention) -> np.ndarray:
    """RGB 0..255 (..., H, W, 3) -> network input in `convention` (channel order, scale, mean, std)."""
    x = np.asarray(image, np.float32) / 255.0 * convention.scale
    if convention.channel_order == "BGR":
        x = x[..., ::-1]
    return (x - np.asarray(convention.mean, np.float32)) / np.asarray(convention.std, np.float32)


def from_network(x: np.ndarray, convention: InputConvention) -> np.ndarray:
    """Inverse of `to_network`: network input -> RGB 0..255 float32 (not clipped)."""
    x = np.asarray(x, np.float32) * np.asarray(convention.std, np.float32)
    x = x + np.asarray(convention.mean, np.float32)
    if convention.channel_order == "BGR":
        x = x[..., ::-1]
    return (x / convention.scale * 255.0).astype(np.float32)


def check_output_path(path: str | Path) -> Path:
    """Fail early, before any work, when `path` cannot be written as an image."""
    path = Path(path)
    if path.suffix.lower() not in SAVE_FORMATS:
        raise GatysError(f"output {path} must end in .png, .jpg or .jpeg")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise GatysError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise GatysError(f"cannot write {path}: permission denied")
    return path


def save(image: np.ndarray, path: str | Path) -> Path:
    """Write RGB 0..255 (clipped, rounded) to PNG or JPEG atomically (temp file, then rename)."""
    path = check_output_path(path)
    pixels = np.clip(np.round(np.asarray(image, np.float32)), 0, 255).astype(np.uint8)
    tmp = atomic_path(path)
    try:
        options = {"quality": 95} if SAVE_FORMATS[path.suffix.lower()] == "JPEG" else {}
        Image.fromarray(pixels).save(tmp, format=SAVE_FORMATS[path.suffix.lower()], **options)
        os.replace(tmp, path)
    except OSError as e:
        raise GatysError(f"cannot write {path}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
