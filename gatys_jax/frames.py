"""Frames of a video, stylized: every frame of a folder in one batch (each frame optimized
apart, from the run's own start), or, for temporal coherence, one frame after another, each
starting from the previous frame's result. The flicker measure says how much the stylized
sequence changes from frame to frame against how much the photographs do.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from gatys_jax import outputs
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import images, inputs
from gatys_jax.io.folders import made_folders
from gatys_jax.outputs import Result
from gatys_jax.plan import scales_of
from gatys_jax.transfer import stylize, stylize_batch
from gatys_jax.weights import h5


def frame_files(folder: str | Path) -> list[Path]:
    """The image files of a folder in name order (frame_0001.png, frame_0002.png, ...)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GatysError(f"frames folder {folder} is not a folder")
    found = inputs.images_in(folder)
    if len(found) < 2:
        raise GatysError(f"frames folder {folder} holds {len(found)} image(s): a sequence "
                         "needs at least two")
    return found


def mean_change(sequence: list[np.ndarray]) -> float:
    """Mean absolute change between consecutive images (grey levels of 0..255)."""
    return float(np.mean([np.abs(np.asarray(b, np.float64) - np.asarray(a, np.float64)).mean()
                          for a, b in zip(sequence, sequence[1:])]))


def flicker(stylized: list[np.ndarray], photographs: list[np.ndarray]) -> dict:
    """The stylized sequence's mean change between frames, the photographs' (resized to the
    stylized size), and their ratio: 1 changes as much as the footage does, higher flickers."""
    shape = stylized[0].shape[:2]
    photo_change = mean_change([images.resize(photo, *shape) for photo in photographs])
    change = mean_change(stylized)
    return {"stylized_change": change, "photo_change": photo_change,
            "flicker": change / photo_change if photo_change > 0 else None}


@dataclasses.dataclass
class FramesResult:
    """The stylized frames in order, each frame's Result, and the flicker measure."""

    frames: list[Path]
    outputs: list[Path]
    results: list[Result]
    flicker: dict  # flicker(): stylized_change, photo_change, flicker (None: still footage)
    coherent: bool

    def to_json(self) -> dict:
        return {"frames": [str(p) for p in self.frames], "outputs": [str(p) for p in self.outputs],
                "coherent": self.coherent, **self.flicker,
                "runs": [result.to_json() for result in self.results]}


def _run(frames: list[Path], files: list[Path], style, config: StyleConfig, coherent: bool,
         vgg, on_update) -> list[Result]:
    """Every frame's Result, its image written to its file: one batch, or (coherent) frame
    after frame from the previous result; an interrupted run keeps what it made."""
    if not coherent:
        result = stylize_batch(frames, [style], config, on_update=on_update, vgg=vgg)
        for entry, path in zip(result.images, files):
            images.save(entry.image, path)
        return [result]
    results, previous = [], None
    for frame, path in zip(frames, files):
        results.append(stylize(frame, style, config, on_update=on_update, vgg=vgg,
                               start=previous))
        previous = results[-1].image
        images.save(previous, path)
        if results[-1].interrupted:
            break
    return results


def output_files(frames: list[Path], out_dir: Path) -> list[Path]:
    """Each frame's stylized file: the frame's name, as PNG, in `out_dir`."""
    return [out_dir / f"{frame.stem}.png" for frame in frames]


def stylize_frames(folder: str | Path, style, config: StyleConfig, out_dir: str | Path, *,
                   coherent: bool = False, metrics: str | Path | None = None,
                   on_update=None, vgg=None) -> FramesResult:
    """Stylize every frame of `folder` with `style` into `out_dir` (created), one PNG per frame.

    coherent: frame after frame, each starting from the previous result (the first from
    config.init); else every frame in one batch (frames of one size). `metrics` gets
    FramesResult.to_json(). vgg: loaded weights in place of config.weights' file."""
    frames = frame_files(folder)
    scales_of(frames, config)  # one output size, from the headers
    vgg = h5.resolve(config.weights) if vgg is None else vgg
    out_dir = Path(out_dir)
    files = output_files(frames, out_dir)
    with made_folders([out_dir]):
        outputs.check_paths(files, Path(metrics) if metrics else None,
                            outputs.run_reads(frames, [style], config), config.save_every,
                            config.iterations)
        results = _run(frames, files, style, config, coherent, vgg, on_update)
    stylized = [entry.image for result in results for entry in result.images]
    done = FramesResult(frames[:len(stylized)], files[:len(stylized)], results,
                        flicker(stylized, [inputs.read(f) for f in frames[:len(stylized)]])
                        if len(stylized) > 1 else {}, coherent)
    if metrics:
        outputs.write_json(done.to_json(), metrics)
    return done
