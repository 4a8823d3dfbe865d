"""`gatys-jax demo`: a bundled photograph in the style of a bundled painting; no input needed."""

from __future__ import annotations

from pathlib import Path

from gatys_jax.config import StyleConfig
from gatys_jax.io import images, samples

CONTENT, STYLE = "chelsea", "starry_night"
# coarse to fine over 96, 192 and 384 px with 50 iterations each: the demo is meant to be
# done within three minutes on a laptop-class CPU
CONFIG = StyleConfig(size=384, start_size=96, iterations=50)


def write_inputs(out_dir: Path) -> tuple[Path, Path]:
    """Save the demo's content and style images into `out_dir`; returns their paths."""
    return (images.save(samples.load(CONTENT), out_dir / "content.png"),
            images.save(samples.load(STYLE), out_dir / "style.png"))
