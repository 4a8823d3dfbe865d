"""The run's input images: from a path, a sample name or an array, sized from file headers
before anything is decoded, and prepared as the paper does (the content resized to the
requested long side, each style to the content's size).

A sample's name (samples.py) stands for the sample unless a file of that name exists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import images, samples
from .errors import GatysError
from .vgg import check_size


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


def output_shape(content_shape: tuple[int, int], size: int | None) -> tuple[int, int]:
    """(height, width) of the optimized image for a content image of `content_shape`."""
    shape = images.size_for_long_side(*content_shape, size)
    check_size(*shape)
    return shape


def prepare(content, styles: list, size: int | None,
            max_megapixels: float = images.MAX_MEGAPIXELS) -> tuple[np.ndarray, list[np.ndarray]]:
    """Content resized to long side `size` (None keeps it); each style resized to the
    content's size, as the paper does."""
    content = read(content, max_megapixels)
    content = images.resize(content, *output_shape(content.shape[:2], size))
    return content, [images.resize(read(style, max_megapixels), *content.shape[:2])
                     for style in styles]
