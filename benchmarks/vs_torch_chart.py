"""vs_torch's chart: ms per evaluation by size, and the full run's loss curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot(path: Path, rows: list[dict], full: dict | None) -> None:
    """ms per evaluation by size and implementation (log scale, bars); beside it, with a full
    run, each run's loss against wall seconds and PyTorch's final loss, the target."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2 if full else 1, figsize=(13 if full else 7, 5), squeeze=False)
    ax = axes[0, 0]
    impls = list(dict.fromkeys(r["implementation"] for r in rows))
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        values = [next(r["median_ms"] for r in rows if r["size"] == s and
                       r["implementation"] == impl) for s in sizes]
        bars = ax.bar(np.arange(len(sizes)) + (i - (len(impls) - 1) / 2) * width, values,
                      width, label=impl)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    labels = [next(f"{r['width']}x{r['height']}" for r in rows if r["size"] == s) for s in sizes]
    ax.set_xticks(np.arange(len(sizes)), labels)
    ax.set_yscale("log")
    ax.set_ylabel("ms per loss + gradient evaluation (median)")
    ax.set_title("one evaluation of the Gatys objective", fontsize=10)
    ax.legend(fontsize=8)
    if full:
        ax = axes[0, 1]
        for r in full["runs"].values():
            h = r["history"]
            ax.plot([row["seconds"] for row in h], [row["total_loss"] for row in h],
                    label=r["name"], lw=1.5)
        ax.axhline(full["target"], color="gray", ls="--", lw=1,
                   label=f"PyTorch's {full['evaluations']}-evaluation loss")
        ax.set_yscale("log")
        ax.set_xlabel("wall seconds (compile apart)")
        ax.set_ylabel("total loss")
        ax.set_title(f"L-BFGS, {full['label']} px, {full['evaluations']} evaluations",
                     fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
