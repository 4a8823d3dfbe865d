"""`gatys-jax demo`: style transfer on images bundled with scikit-image; no input needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data as skdata

from . import images
from .config import StyleConfig

# 256 px and 200 iterations: about three minutes on a 2-core CPU; lambda 1e-4 is the paper's
# stronger-style setting (Fig. 3 shows 1e-3 and 1e-4)
CONFIG = StyleConfig(size=256, iterations=200, content_weight=1e-4)


def demo_images() -> tuple[np.ndarray, np.ndarray]:
    """(content, style) as RGB float32: scikit-image's cat photograph and its stained-tissue
    micrograph (a colourful, painterly texture)."""
    content = np.asarray(skdata.chelsea(), np.float32)
    style = np.asarray(skdata.immunohistochemistry(), np.float32)
    return content, style


def write_inputs(out_dir: Path) -> tuple[Path, Path]:
    """Save the demo's content and style images into `out_dir`; returns their paths."""
    content, style = demo_images()
    return images.save(content, out_dir / "content.png"), images.save(style, out_dir / "style.png")
