"""What a run leaves behind: the `Result` (images, losses, histories, run facts) and its JSON,
the names of the files it writes, the check that none of them clobbers an input or another
output, and the writing itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import signal
from pathlib import Path
from typing import Sequence

import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import images, inputs, paths
from gatys_jax.io.files import Labelled, check_outputs, same_file, write_atomic
from gatys_jax.jobs import Job
from gatys_jax.problem import Masks, mask_sources


@dataclasses.dataclass
class ImageResult:
    """One output image and how it was made."""

    image: np.ndarray  # uint8 (H, W, 3)
    style: str  # name of its style image
    config: StyleConfig  # its settings (its own content weight and seed)
    losses: dict  # content_loss, style_loss, total_loss, style_layer_losses {layer: E_l}
    evaluations: int
    history: list[dict]  # [{evaluations, total_loss, seconds}] after every compiled call
    quality: dict  # quality.Yardstick: style_distance, content_distance, speckle
    output: Path | None = None
    converged: bool | None = None  # by stop_tolerance or stop_pixels (None: not asked)
    content: str | None = None  # name of its content image

    def to_json(self) -> dict:
        return {"content": self.content, "style": self.style,
                "content_weight": self.config.content_weight,
                "seed": self.config.seed, **self.losses, "quality": self.quality,
                "evaluations": self.evaluations, "converged": self.converged,
                "history": self.history, "output": str(self.output) if self.output else None}


@dataclasses.dataclass
class Result:
    """A run: its images in job order (style-major, then content weight, then seed), the
    settings, and facts about how it ran."""

    images: list[ImageResult]
    config: StyleConfig  # the run's settings (the first image's content weight and seed)
    facts: dict  # what the config leaves open: styles, lists, scales, the solver, memory plan
    size: tuple[int, int]  # (height, width) of the images
    iterations: int  # steps taken
    wall_seconds: float  # optimization, compile apart
    compile_seconds: float
    batch_size: int  # images per compiled batch
    batches: int  # compiled batches run one after another
    steps_per_call: int
    references: dict  # {style name: the yardstick of the content and of that style image}
    interrupted: int = 0  # the signal that stopped the run, 0 for none
    devices: dict = dataclasses.field(default_factory=dict)  # backend, device, devices, ...
    record: dict = dataclasses.field(default_factory=dict)  # record.run_record: for replay

    @property
    def image(self) -> np.ndarray:
        """The image of a one-image run."""
        if len(self.images) != 1:
            raise GatysError(f"this run made {len(self.images)} images: use result.images")
        return self.images[0].image

    @property
    def evaluations(self) -> int:
        return max((entry.evaluations for entry in self.images), default=0)

    @property
    def ends_unconverged(self) -> bool:
        """Whether an image reached the cap without meeting the convergence rule it was given:
        the run is unfinished, and a higher cap goes on from its checkpoint."""
        return any(entry.converged is False for entry in self.images)

    def to_json(self) -> dict:
        """Plain JSON values: run facts, `settings` (StyleConfig(**settings) is the run's
        config), `run` (what the settings leave open), `record` (inputs, weights, versions:
        what a replay checks) and `images` (one entry per image); for a one-image run that
        image's losses and history are also at the top level."""
        out = {
            "images": [entry.to_json() for entry in self.images],
            "evaluations": self.evaluations, "iterations": self.iterations,
            "wall_seconds": self.wall_seconds, "compile_seconds": self.compile_seconds,
            "size": list(self.size), "interrupted": bool(self.interrupted),
            "signal": signal.Signals(self.interrupted).name if self.interrupted else None,
            "batch_size": self.batch_size, "batches": self.batches,
            "steps_per_call": self.steps_per_call, "quality_references": self.references,
            "settings": self.config.to_json(), "run": self.facts, "record": self.record,
            **self.devices,
        }
        if len(self.images) == 1:
            entry = out["images"][0]
            out.update({key: entry[key] for key in ("content_loss", "style_loss", "total_loss",
                                                    "style_layer_losses", "quality", "history")})
        return _finite_or_none(out)


def _finite_or_none(value):
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_images(entries: list[ImageResult]) -> None:
    """Write each image that has an output path."""
    for entry in entries:
        if entry.output is not None:
            images.save(entry.image, entry.output)


def write_json(data: dict, path: str | Path) -> Path:
    """Atomic JSON write (temporary file, then rename)."""
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    return write_atomic(path, lambda tmp: tmp.write_text(text))


# ---------------------------------------------------------------- names


def style_names(styles: Sequence, role: str = "style") -> list[str]:
    """Short unique names for images: sample names or file stems, else <role><i>."""
    names = [inputs.name_of(style) for style in styles]
    if None in names or len(set(names)) != len(names):
        return [f"{role}{i}" for i in range(len(styles))]
    return names


def _labels(values: Sequence[float], prefix: str) -> list[str]:
    """Distinct labels for distinct values: short (%g) where that keeps them apart, else
    every digit (repr, distinct for distinct floats)."""
    short = [f"{prefix}{value:g}" for value in values]
    return short if len(set(short)) == len(short) else [f"{prefix}{value!r}" for value in values]


def output_paths(output: Path, jobs: list[Job], names: list[str],
                 contents: Sequence[str] = ()) -> list[Path]:
    """OUT itself for one job; else OUT_<content>_<style>_cw<lambda>_seed<N>.png naming only
    what varies (`names`: the styles', `contents`: the content images')."""
    if len(jobs) == 1:
        return [output]
    weights = list(dict.fromkeys(job.config.content_weight for job in jobs))
    seeds = list(dict.fromkeys(job.config.seed for job in jobs))
    weight_label = dict(zip(weights, _labels(weights, "cw")))
    parts = [([contents[job.content]] if len(contents) > 1 else [])
             + ([names[job.style]] if len(names) > 1 else []) for job in jobs]
    for part, job in zip(parts, jobs):
        if len(weights) > 1:
            part.append(weight_label[job.config.content_weight])
        if len(seeds) > 1:
            part.append(f"seed{job.config.seed}")
    return [output.with_name(f"{output.stem}_{'_'.join(part)}{output.suffix}") for part in parts]


def intermediate_path(output: Path, iteration: int) -> Path:
    return output.with_name(f"{output.stem}_{iteration:05d}{output.suffix}")


def _is_intermediate(path: Path, output: Path, every: int, iterations: int) -> bool:
    """Whether `path` is one of the intermediate images a run writes beside `output`."""
    if not same_file(path.parent, output.parent):
        return False
    match = re.fullmatch(re.escape(output.stem) + r"_(\d{5,})" + re.escape(output.suffix),
                         path.name)
    return bool(match) and int(match[1]) % every == 0 and 0 < int(match[1]) <= iterations


def run_reads(contents: Sequence, styles: Sequence, config: StyleConfig,
              masks: Masks | None = None) -> list[Labelled]:
    """Every file a run reads, labelled: its content and style images, masks (`masks` or the
    settings') and weight file (sample names and arrays are no files)."""
    sources = [*((content, "content image") for content in contents),
               *((style, "style image") for style in styles)]
    masks = mask_sources(config, masks)
    if masks is not None:
        sources += [(masks.content, "content mask"),
                    *((mask, "style mask") for mask in masks.styles)]
    reads = [(path, what) for path, what in ((inputs.path_of(source), what)
                                             for source, what in sources) if path is not None]
    return reads + [(Path(config.weights or paths.plain_weights()), "weight file")]


def check_paths(images_out: list[Path], metrics: Path | None, reads: Sequence[Labelled],
                save_every: int | None, iterations: int,
                checkpoint: Path | None = None) -> None:
    """Refuse, before any work, a run whose outputs (images, metrics, checkpoint, the images
    saved every `save_every` iterations) would overwrite a file it reads (`reads`, e.g.
    run_reads) or each other, or cannot be written."""
    for path in images_out:
        images.check_image_name(path)
    writes = [(path, "output image") for path in images_out]
    if metrics is not None:
        writes.append((Path(metrics), "metrics file"))
    if checkpoint is not None:
        writes.append((Path(checkpoint), "checkpoint"))
    check_outputs(writes, reads)
    if save_every:
        for image_out in images_out:
            for path, what in [*reads, *writes]:
                if _is_intermediate(Path(path), image_out, save_every, iterations):
                    raise GatysError(f"the images saved every {save_every} iterations beside "
                                     f"{image_out} would overwrite the {what} {path}: choose "
                                     "another output name")


class IntermediateSaver:
    """Writes OUT_<iteration>.png for every image whenever the iteration passes a multiple of
    `every` (an on_update callback of the driver's run). to_rgb(x) gives {image index: uint8}
    of the images this process holds."""

    def __init__(self, paths: list[Path], every: int, to_rgb):
        self.paths, self.every, self.to_rgb = paths, every, to_rgb
        self.saved = 0

    def passed(self, iteration: int) -> None:
        """Count the multiples of `every` up to `iteration` as written (a resumed run wrote
        them before it stopped)."""
        self.saved = iteration // self.every

    def __call__(self, iteration: int, x) -> None:
        if iteration // self.every > self.saved:
            self.saved = iteration // self.every
            for index, image in self.to_rgb(x).items():
                images.save(image, intermediate_path(self.paths[index], iteration))
