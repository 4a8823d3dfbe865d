"""Figures: labelled grids of pictures, and pictures saved within a size budget (for docs/)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import numpy as np

from gatys_jax.errors import GatysError
from gatys_jax.io.images import to_uint8


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


def _fitted(label: str, height: float) -> str:
    """A row label wrapped to the panel's height in inches (about 16 characters per inch at
    7 points), breaking a layer range such as conv1_1..conv5_1 after its dots."""
    width = max(int(height * 16), 8)
    return label if len(label) <= width else textwrap.fill(label.replace("..", ".. "), width)


def save_grid(path: Path, rows: list[list[np.ndarray | None]], row_labels: Sequence[str] = (),
              col_labels: Sequence[str] = (), title: str | None = None) -> Path:
    """A labelled grid of RGB pictures (H, W, 3) in 0..255 (None leaves a cell empty), each
    shown at about its pixel size (at least 1.4 inches wide so that labels fit), as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(im for row in rows for im in row if im is not None)
    h, w = first.shape[:2]
    panel_w = max(w / 100.0, 1.4)
    panel_h = panel_w * h / w
    nrows, ncols = len(rows), max(len(r) for r in rows)
    fig_w = ncols * panel_w + (0.4 if row_labels else 0)
    # a title wider than the figure is wrapped (about 15 characters per inch at 8 points)
    title = textwrap.fill(title, int(fig_w * 15)) if title else None
    title_h = 0.3 + 0.15 * title.count("\n") if title else 0.0
    fig_h = nrows * panel_h + 0.35 + title_h
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(fig_w, fig_h))
    for i, row in enumerate(rows):
        for j in range(ncols):
            _panel(axes[i, j], row[j] if j < len(row) else None,
                   col_labels[j] if i == 0 and j < len(col_labels) else None,
                   _fitted(row_labels[i], panel_h) if j == 0 and i < len(row_labels) else None)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 1 - title_h / fig_h))
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _panel(ax, image: np.ndarray | None, title: str | None, row_label: str | None) -> None:
    """One cell of a grid: its picture (or nothing), its column's title on the first row and
    its row's label on the first column; a labelled empty cell keeps its label, not its
    frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    if image is None:
        ax.axis("off")
    else:
        ax.imshow(to_uint8(image), interpolation="nearest")
    if title is not None:
        ax.set_title(title, fontsize=7)
    if row_label is not None:
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(row_label, fontsize=7)
        if image is None:
            for spine in ax.spines.values():
                spine.set_visible(False)
