"""Figures for docs/: images saved within a size budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gatys_jax.errors import GatysError


def save_jpeg(image: np.ndarray, path: Path, max_bytes: int) -> int:
    """Save a uint8 RGB image as JPEG at the highest quality (90 down to 50) whose file is at
    most `max_bytes`; returns the quality used. A figure that does not fit even at 50 is a
    GatysError: make it smaller."""
    from PIL import Image
    for quality in (90, 85, 80, 70, 60, 50):
        Image.fromarray(image).save(path, format="JPEG", quality=quality, optimize=True)
        if path.stat().st_size <= max_bytes:
            return quality
    path.unlink()
    raise GatysError(f"{path} is over {max_bytes} bytes even at JPEG quality 50")
