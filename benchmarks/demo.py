"""The demo as a user runs it: `gatys-jax demo` timed from the command line (start-up, weights,
compiling and the run), and its figure for the README: photograph, painting and result side
by side at the result's height, a JPEG of at most 150 KB (docs/demo.jpg).

    python -m benchmarks.demo
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gatys_jax.io import images
from gatys_jax.io.images import to_uint8
from lab import figures, host, script

FIGURE_BYTES = 150_000
GAP = 8  # white pixels between the three images


def side_by_side(pictures: list[np.ndarray], height: int) -> np.ndarray:
    """uint8 images resized to `height` and joined left to right with white gaps."""
    resized = [images.resize(p, height, round(p.shape[1] * height / p.shape[0]))
               for p in pictures]
    gap = np.full((height, GAP, 3), 255.0)
    parts = [part for p in resized for part in (p, gap)][:-1]
    return to_uint8(np.concatenate(parts, axis=1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--figure", default=str(script.ROOT / "docs" / "demo.jpg"),
                   help="where the figure goes (default docs/demo.jpg)")
    args = p.parse_args(argv)
    print(host.machine(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "demo"
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "gatys_jax.cli", "demo", "-o", str(out),
                              "-q"], capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if run.returncode != 0:
            sys.exit(f"gatys-jax demo failed:\n{run.stderr[-2000:]}")
        metrics = json.loads((out / "metrics.json").read_text())
        result = images.load(out / "stylized.png")
        grid = side_by_side([images.load(out / "content.png"), images.load(out / "style.png"),
                             result], result.shape[0])
    figure = Path(args.figure)
    quality = figures.save_jpeg(grid, figure, FIGURE_BYTES)
    image = metrics["images"][0]
    print(f"gatys-jax demo: {seconds:.0f} s from the command line (compile "
          f"{metrics['compile_seconds']:.0f} s, optimization {metrics['wall_seconds']:.0f} s), "
          f"{image['evaluations']} evaluations; quality {image['quality']}")
    print(f"wrote {figure} ({figure.stat().st_size // 1000} KB, JPEG quality {quality})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
