"""benchmarks.optimizers' charts: loss against evaluations and against seconds (median line and
min-max band over seeds), and the final images.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def band(histories: list[list[dict]], grid: np.ndarray, key: str) -> np.ndarray:
    """(3, len(grid)) median, min, max over runs of the loss at each grid value of `key`:
    as in common.loss_at, the loss of the last row at or before it; a run holds its
    first loss before its first row and its final loss after its last."""
    values = []
    for history in histories:
        keys = np.array([row[key] for row in history], float)
        loss = np.array([row["total_loss"] for row in history], float)
        values.append(loss[np.maximum(np.searchsorted(keys, grid, side="right") - 1, 0)])
    values = np.array(values)
    return np.stack([np.median(values, 0), values.min(0), values.max(0)])


def plot_curves(path: Path, methods, runs, seeds, title: str) -> None:
    """Loss against evaluations and against seconds, log scale: per method the median over
    seeds and, with several seeds, the min-max band."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    colors = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    for index, method in enumerate(methods):
        histories = [runs[(method.key, seed)]["history"] for seed in seeds]
        color = colors(index)
        last = max(h[-1]["evaluations"] for h in histories)
        grids = {"evaluations": np.arange(1, last + 1),
                 "seconds": np.linspace(0, max(h[-1]["seconds"] for h in histories), 300)}
        for ax, key in zip(axes, ("evaluations", "seconds")):
            median, low, high = band(histories, grids[key], key)
            # steps: a loss is known only where an evaluation (or iteration) ended
            ax.plot(grids[key], median, color=color, label=method.label, lw=1.5,
                    drawstyle="steps-post")
            if len(seeds) > 1:
                ax.fill_between(grids[key], low, high, color=color, alpha=0.2, lw=0,
                                step="post")
    for ax, xlabel in zip(axes, ("loss + gradient evaluations", "wall seconds (compile apart)")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("total loss")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_grid(path: Path, methods, runs, seed: int) -> None:
    """Each method's final image from `seed`, with its loss and evaluations."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    columns = min(4, len(methods))
    rows = math.ceil(len(methods) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, method in zip(axes.flat, methods):
        r = runs[(method.key, seed)]
        ax.imshow(r["image"])
        ax.set_title(f"{method.label}\nloss {r['history'][-1]['total_loss']:.4g} after "
                     f"{r['evaluations']} evals", fontsize=8)
    fig.suptitle(f"final images, seed {seed}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
