"""The run's input images: from a path, a sample name or an array, sized from file headers
before anything is decoded.

A sample's name (samples.py) stands for the sample unless a file of that name exists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gatys_jax.errors import GatysError
from gatys_jax.io import images, samples

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def images_in(folder: str | Path) -> list[Path]:
    """The image files of a folder (by their suffix), in name order; GatysError for none."""
    folder = Path(folder)
    try:
        found = sorted(path for path in folder.iterdir()
                       if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
    except OSError as e:
        raise GatysError(f"cannot list the folder {folder}: {e.strerror or e}") from None
    if not found:
        raise GatysError(f"folder {folder} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    return found


def is_sample(source) -> bool:
    """Whether `source` names a sample rather than an existing file."""
    return isinstance(source, str) and source in samples.NAMES and not Path(source).exists()


def name_of(source) -> str | None:
    """A short name for an image source: a sample's name, a file's stem, None for arrays."""
    if is_sample(source):
        return source
    if isinstance(source, (str, Path)):
        return Path(source).stem
    return None


def path_of(source) -> Path | None:
    """The file an image source reads, if it is a file."""
    return Path(source) if isinstance(source, (str, Path)) and not is_sample(source) else None


def read(source, max_megapixels: float = images.MAX_MEGAPIXELS) -> np.ndarray:
    """An image given as a path, a sample name or an RGB array (H, W, 3) in 0..255 (uint8 or
    float) -> float32 RGB."""
    if is_sample(source):
        return samples.load(source)
    if isinstance(source, (str, Path)):
        return images.load(source, max_megapixels)
    array = np.asarray(source, np.float32)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise GatysError(f"an image array must have shape (H, W, 3), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise GatysError("an image array holds non-finite values")
    return array


def shape_of(source, max_megapixels: float = images.MAX_MEGAPIXELS) -> tuple[int, int]:
    """(height, width) of an image source, from the file's header where there is a file."""
    if is_sample(source):
        return samples.load(source).shape[:2]
    if isinstance(source, (str, Path)):
        return images.header_size(source, max_megapixels)
    return read(source).shape[:2]
