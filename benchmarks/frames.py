"""Frames of a video, stylized with and without temporal coherence, and their flicker.

The footage is made from a bundled photograph: FRAMES crops of one size, the window panning
PAN px per frame across the picture (a camera pan), written as PNG files. Both modes of
`gatys-jax frames` run on it with the project's defaults at --size, λ scaled from the
default's 256 px balance by (256 / size)² (README, "Defaults, and why"), the same settings:
the batch (every frame in one compiled program, each from its own noise start) and the
coherent sequence (each frame starting from the previous frame's result). The flicker is the
stylized sequence's mean absolute change between consecutive frames over the photographs'
own (1: it changes as much as the footage). The report goes to docs/frames.md, and a strip of
the first frames (photographs above, each mode's frames below) to docs/frames.jpg.

    python -m benchmarks.frames [--size PX] [--iterations N] [--photo NAME] [--style NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.demo import side_by_side
from gatys_jax import frames
from gatys_jax.config import StyleConfig
from gatys_jax.io import images, inputs
from gatys_jax.io.images import to_uint8
from lab import figures, host, script

FRAMES = 8
PAN = 6  # px of the source photograph per frame
SHOWN = 4  # frames in the strip
FIGURE_BYTES = 200_000


def make_footage(photo: str, folder: Path, size: int) -> list[Path]:
    """FRAMES square crops of `photo`, the window moving PAN px right per frame, at `size`."""
    rgb = inputs.read(photo)
    side = min(rgb.shape[0], rgb.shape[1] - PAN * FRAMES)
    top = (rgb.shape[0] - side) // 2
    folder.mkdir()
    paths = []
    for index in range(FRAMES):
        crop = rgb[top: top + side, PAN * index: PAN * index + side]
        paths.append(images.save(to_uint8(images.resize(crop, size, size)),
                                 folder / f"frame_{index:03d}.png"))
    return paths


def strip(rows: list[list[np.ndarray]]) -> np.ndarray:
    """Rows of SHOWN frames joined side by side, the rows stacked with white gaps."""
    lines = [side_by_side(row[:SHOWN], row[0].shape[0]) for row in rows]
    gap = np.full((8, lines[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([part for line in lines for part in (line, gap)][:-1], axis=0)


def report(args, config: StyleConfig, measured: dict) -> str:
    rows = "\n".join(f"| {mode} | {m['stylized_change']:.2f} | {m['photo_change']:.2f} | "
                     f"{m['flicker']:.2f} | {m['seconds']:.0f} |" for mode, m in measured.items())
    return (f"{host.machine()}. `{script.command_line('benchmarks.frames', args.argv)}`: "
            f"{FRAMES} frames of {args.photo} panning {PAN} px a frame, at {args.size} px, "
            f"style {args.style}, λ {config.content_weight:.3g}, {args.iterations} iterations per "
            "frame, one scale.\n\n"
            "| mode | stylized change (grey levels) | photographs' change | flicker | "
            f"seconds |\n| --- | ---: | ---: | ---: | ---: |\n{rows}\n\n"
            "![frames](frames.jpg)\n\nTop: the photographs; middle: the batch (each frame "
            "from its own start); bottom: the coherent sequence (each frame from the one "
            "before).\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=128, help="frame side in px (default 128)")
    p.add_argument("--iterations", type=int, default=150, help="per frame (default 150)")
    p.add_argument("--photo", default="astronaut", help="bundled photograph (default astronaut)")
    p.add_argument("--style", default="starry_night", help="style (default starry_night)")
    p.add_argument("--figure", default=str(script.ROOT / "docs" / "frames.jpg"),
                   help="the strip (default docs/frames.jpg)")
    script.add_docs_arguments(p, script.ROOT / "docs" / "frames.md")
    args = p.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    config = StyleConfig(size=args.size, start_size=None, iterations=args.iterations)
    config = config.replace(content_weight=config.content_weight * (256 / args.size) ** 2)
    measured, shown = {}, []
    with tempfile.TemporaryDirectory() as folder:
        footage = make_footage(args.photo, Path(folder) / "footage", args.size)
        shown.append([images.load(path) for path in footage])
        for mode, coherent in (("batch", False), ("coherent", True)):
            done = frames.stylize_frames(Path(folder) / "footage", args.style, config,
                                         Path(folder) / mode, coherent=coherent)
            seconds = sum(result.wall_seconds + result.compile_seconds for result in done.results)
            measured[mode] = {**done.flicker, "seconds": seconds}
            shown.append([images.load(path) for path in done.outputs])
            print(f"{mode}: flicker {done.flicker['flicker']:.2f} ({seconds:.0f} s)", flush=True)
    figure = Path(args.figure)
    quality = figures.save_jpeg(strip(shown), figure, FIGURE_BYTES)
    print(f"wrote {figure} ({figure.stat().st_size // 1000} KB, JPEG quality {quality})")
    docs = script.write_docs(args, "Frames and flicker", "benchmarks.frames",
                             report(args, config, measured))
    if docs:
        print(f"wrote {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
