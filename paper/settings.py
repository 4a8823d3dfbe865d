"""What the paper scripts share before they run: their settings (the paper's, with the sizes,
convergence rules and caps of this reproduction), the style layer subsets of Figures 1 and 4,
and their command line.

Every image runs until it converges (its total loss changed by less than STOP_TOLERANCE, or
its picture by less than STOP_PIXELS grey levels, over its last STOP_WINDOW evaluations) or
reaches the script's cap of iterations (CAP, or RECONSTRUCTION_CAP).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from gatys_jax.cli import flags
from gatys_jax.config import DEFAULT_STYLE_LAYERS, StyleConfig
from lab import script
from lab.script import CONTENT, ROOT, STYLE

RESULTS = ROOT / "results"
CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
STYLE_LAYERS = DEFAULT_STYLE_LAYERS
# Figure 1 and 4 rows: conv1_1; conv1_1+conv2_1; ... conv1_1..conv5_1
STYLE_SUBSETS = tuple(STYLE_LAYERS[: k + 1] for k in range(len(STYLE_LAYERS)))
# every experiment fixes its initialization; the scripts save their images themselves
SKIP = ("init", "save_every")
FULL_SIZE, QUICK_SIZE = 512, 256  # long side, px: the paper's size; --quick (a CPU's)
STOP_TOLERANCE, STOP_WINDOW = 1e-3, 100  # converged: < 0.1% change over 100 evaluations
# ... or the picture stopped changing: it moved < 0.1 grey levels (RMS) over 100 evaluations.
# A reconstruction's loss falls towards zero by a steady fraction per window for as long as
# it runs, so the relative rule alone never ends it, long after its picture has settled.
STOP_PIXELS = 0.1
# from white noise the loss settles only after many thousands of evaluations (docs/paper.md),
# so the cap sits well above that: it catches runs that never settle
CAP = 16000  # iterations
# a reconstruction (Fig. 1), or an image whose style term all but outweighs its content
# term (Fig. 4's smaller lambdas), approaches a picture its network hardly sees, in
# directions that settle slowly (a style reconstruction on all five layers slowest of all);
# a content reconstruction's evaluations cost a fraction of a whole network's
RECONSTRUCTION_CAP = 4 * CAP  # iterations


def defaults(iterations: int = CAP, **changes) -> StyleConfig:
    """A script's defaults: the paper's settings at FULL_SIZE, run to convergence with
    `iterations` as the cap, and the script's `changes`."""
    return StyleConfig.paper(size=FULL_SIZE, iterations=iterations,
                             stop_tolerance=STOP_TOLERANCE, stop_pixels=STOP_PIXELS,
                             stop_window=STOP_WINDOW, **changes)


def parser(description: str, defaults: StyleConfig, skip: Sequence[str] = (),
           style: bool = True) -> argparse.ArgumentParser:
    """--content, --style (unless not `style`), --out, --quick and the StyleConfig flags a
    paper script takes; `defaults` holds the script's own (`defaults`), `skip` the settings
    its experiment fixes."""
    p = flags.Parser(description=description)
    p.add_argument("--content", default=CONTENT,
                   help=f"content photo: a file or a sample name (default {CONTENT})")
    if style:
        p.add_argument("--style", default=STYLE,
                       help=f"painting: a file or a sample name (default {STYLE})")
    p.add_argument("--out", type=Path, default=RESULTS, help="results root (default results/)")
    p.add_argument("--fresh", action="store_true",
                   help="optimize every run again instead of loading the runs an earlier "
                        "command finished and saved under OUT/<name>/runs/")
    p.add_argument("--quick", action="store_true",
                   help=f"the CPU run: {QUICK_SIZE} px instead of the paper's {FULL_SIZE} "
                        "(unless --size is given)")
    p.add_argument("--batching", choices=("auto", "on", "off"), default="auto",
                   help="a run of several images (a row of lambdas, noise seeds): 'on' "
                        "optimizes them together in one batched program, until the last "
                        "converges; 'off' one at a time, each to its own convergence and with "
                        "its own checkpoint; 'auto' (default) is off on a CPU, where a batch "
                        "costs what its images cost one after another, else on")
    flags.add_config_arguments(p, defaults, SKIP + tuple(skip))
    return p


def parse(p: argparse.ArgumentParser, argv, defaults: StyleConfig
          ) -> tuple[argparse.Namespace, StyleConfig]:
    """Flags -> (args, StyleConfig), with the benchmarks' one-line errors for bad settings and
    inputs; --quick sets QUICK_SIZE unless --size is given."""
    args, config = script.parse(p, argv, defaults)
    if args.quick and not hasattr(args, "size"):
        config = config.replace(size=QUICK_SIZE)
    return args, config


def subset_label(layers: Sequence[str]) -> str:
    return layers[0] if len(layers) == 1 else f"{layers[0]}..{layers[-1]}"


def style_subsets(text: str) -> list[tuple[str, ...]]:
    """'1,3' -> [conv1_1], [conv1_1..conv3_1]: the subsets by their numbers of layers."""
    return [STYLE_SUBSETS[int(k) - 1] for k in text.split(",")]
