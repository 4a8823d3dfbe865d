"""TensorBoard event files of a run (`--log-dir`): one run folder per image, so that the
curves of a batch (seeds, λ values, styles) or of several optimizers overlay.

Per image: `loss/total` at every evaluation the driver records; every `every` iterations and
at the end of each scale, `loss/content` (λ times the content loss), `loss/style`, `loss/tv`,
`style_layer/<layer>` and a snapshot `image`; at the end, `quality/<measure>` (the yardstick)
and the settings as text. The x axis is the evaluations made (all scales together).
`write_history` writes a finished run's curve (a benchmark's methods, each a run).
tensorboardX is an optional extra: `pip install "gatys-jax[tensorboard]"`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gatys_jax.errors import GatysError


def _writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise GatysError("--log-dir needs tensorboardX: pip install 'gatys-jax[tensorboard]' "
                         "(or pip install tensorboardX)") from None
    return SummaryWriter


def check_available() -> None:
    """GatysError now, before any work, when tensorboardX is missing."""
    _writer_class()


def write_history(log_dir: str | Path, run_name: str, history: list[dict]) -> None:
    """One run's loss curve (rows with evaluations and total_loss) as `loss/total` under
    log_dir/run_name: the methods of a comparison, each a run, overlay in TensorBoard."""
    writer = _writer_class()(str(Path(log_dir) / run_name))
    for row in history:
        writer.add_scalar("loss/total", float(row["total_loss"]), int(row["evaluations"]))
    writer.close()


class EventLog:
    """The event files of one batch of images, under log_dir/<run name>/."""

    def __init__(self, log_dir: str | Path, run_names: list[str], every: int):
        writer = _writer_class()
        self.every = every
        self.writers = [writer(str(Path(log_dir) / name), flush_secs=30) for name in run_names]
        self.logged = -1  # the last iteration whose terms were logged, at this scale

    def totals(self, evaluations: np.ndarray, totals: np.ndarray) -> None:
        """Each image's total loss at its evaluation count ((B,) arrays, B >= images)."""
        for writer, step, total in zip(self.writers, evaluations, totals):
            writer.add_scalar("loss/total", float(total), int(step))

    def due(self, iteration: int, scale_ends: bool) -> bool:
        """Whether the terms are logged at `iteration` (its multiples of `every` and the end
        of a scale, once each)."""
        if iteration == self.logged:
            return False
        if scale_ends or iteration % self.every == 0:
            self.logged = iteration
            return True
        return False

    def new_scale(self) -> None:
        self.logged = -1

    def terms(self, evaluations: np.ndarray, losses, weights, layers: tuple[str, ...],
              rgb: dict[int, np.ndarray]) -> None:
        """The loss terms (objective.Losses, batched) with their weights (LossWeights,
        batched) at each image's evaluation count, and each image (uint8 RGB)."""
        for i, writer in enumerate(self.writers):
            step = int(evaluations[i])
            writer.add_scalar("loss/content",
                              float(weights.content[i] * losses.content[i]), step)
            writer.add_scalar("loss/style", float(losses.style[i]), step)
            writer.add_scalar("loss/tv", float(weights.tv[i] * losses.tv[i]), step)
            for layer, value in zip(layers, losses.style_layers[i]):
                writer.add_scalar(f"style_layer/{layer}", float(value), step)
            if i in rgb:
                writer.add_image("image", rgb[i], step, dataformats="HWC")

    def finish(self, images: list) -> None:
        """The yardstick and the settings of each finished image (outputs.ImageResult), then
        close the files."""
        for writer, entry in zip(self.writers, images):
            for name, value in entry.quality.items():
                if isinstance(value, (int, float)):
                    writer.add_scalar(f"quality/{name}", float(value), entry.evaluations)
            writer.add_text("settings", "```\n" + json.dumps(entry.config.to_json(), indent=1)
                            + "\n```", entry.evaluations)
        self.close()

    def close(self) -> None:
        for writer in self.writers:
            writer.close()
