"""The panel the project is tuned and judged on, and the classic PyTorch recipe on it.

PANEL: eight photograph/painting pairs from the bundled samples, each photograph with two
paintings and each painting two or three times. A setting is judged on all of them, by the
median and the worst pair, never by one.

The classic recipe, the anchor: the plain Caffe VGG19 (average pooling), lambda 1e-3, the
paper's losses, torch.optim.LBFGS (history 100, lr 1, no line search) for 300 evaluations
from N(0, 1) in network units (the mean colour, with a little noise): what the PyTorch ports
of the method run. Its runs are slow on a CPU, so each (pair, size, seed, evaluations) is run
once and kept under results/torch_classic/ (history, seconds, image).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from gatys_jax import quality
from gatys_jax.cli import flags
from gatys_jax.errors import GatysError
from gatys_jax.io import images, paths
from gatys_jax.io.images import to_uint8
from gatys_jax.model.convention import from_network, to_network
from gatys_jax.problem import read_inputs
from gatys_jax.weights import h5
from lab.figures import save_jpeg

from .common import RESULTS

PANEL = (("astronaut", "starry_night"), ("astronaut", "woman_with_hat"),
         ("chelsea", "starry_night"), ("chelsea", "shipwreck"),
         ("coffee", "shipwreck"), ("coffee", "woman_with_hat"),
         ("rocket", "starry_night"), ("rocket", "woman_with_hat"))
CLASSIC_CONTENT_WEIGHT = 1e-3
CLASSIC_EVALUATIONS = 300


def pair_name(pair: tuple[str, str]) -> str:
    return f"{pair[0]}+{pair[1]}"


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """'all' or 'photo+painting,photo+painting' -> pairs."""
    if text == "all":
        return list(PANEL)
    pairs = [tuple(item.split("+")) for item in text.split(",") if item]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"pairs {text!r}: use all, or photo+painting,... e.g. chelsea+shipwreck")
    return pairs


def add_arguments(parser) -> None:
    """--pairs and --seeds: a benchmark that runs every pair from every seed's start."""
    parser.add_argument("--pairs", default="all", help="all, or photo+painting,... (default all)")
    parser.add_argument("--seeds", default="0", help="noise seeds, e.g. 0,1 or 0-3 (default 0)")


def read_arguments(parser, args) -> None:
    """args.pairs and args.seeds as lists; a bad one is the parser's one-line error."""
    try:
        args.pairs = parse_pairs(args.pairs)
        args.seeds = flags.parse_seeds(args.seeds)
    except (ValueError, GatysError) as e:
        parser.error(str(e))


def classic_start(shape: tuple[int, int], seed: int) -> np.ndarray:
    """The classic recipe's x_0: N(0, 1) in network units, (H, W, 3)."""
    return np.random.default_rng(seed).standard_normal(shape + (3,)).astype(np.float32)


def prepared(pair: tuple[str, str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """(content, style) RGB as stylize prepares them at long side `size`."""
    content, (style,) = read_inputs(pair[0], [pair[1]], size)
    return content, style


def classic_run(pair: tuple[str, str], size: int, seed: int = 0,
                evaluations: int = CLASSIC_EVALUATIONS, threads: int | None = None) -> dict:
    """The classic recipe on one pair, from results/torch_classic/ if it ran before: {pair,
    size, seed, evaluations, seconds (the run, warm-up apart), history [{evaluations,
    total_loss, seconds}], quality (the yardstick), image (uint8)}."""
    folder = RESULTS / "torch_classic"
    stem = f"{pair_name(pair)}_{size}px_seed{seed}_{evaluations}"
    record, picture = folder / f"{stem}.json", folder / f"{stem}.png"
    if record.is_file() and picture.is_file():
        return {**json.loads(record.read_text()), "image": np.asarray(images.load(picture))}
    from . import torch_reference as ref
    ref.set_threads(threads)
    vgg = h5.load(paths.plain_weights())
    content, style = prepared(pair, size)
    model = ref.build_model(vgg, memory_format="channels_last")
    objective = ref.make_objective(model, to_network(content, vgg.convention),
                                   to_network(style, vgg.convention),
                                   content_weight=CLASSIC_CONTENT_WEIGHT)
    x0 = classic_start(content.shape[:2], seed)
    ref.loss_and_grad(objective, x0)  # warm-up, timed apart
    start = time.perf_counter()
    result = ref.run_lbfgs(objective, x0, evaluations)
    seconds = time.perf_counter() - start
    image = to_uint8(from_network(result.x, vgg.convention))
    out = {"pair": pair_name(pair), "size": size, "seed": seed, "evaluations": evaluations,
           "seconds": seconds, "history": result.history,
           "quality": quality.Yardstick(vgg, content, [style])(image)}
    folder.mkdir(parents=True, exist_ok=True)
    images.save(image, picture)
    record.write_text(json.dumps(out))
    return {**out, "image": image}


def references(pair: tuple[str, str], size: int) -> dict:
    """The yardstick of the pair's content and style images themselves."""
    content, style = prepared(pair, size)
    vgg = h5.load(paths.plain_weights())
    return quality.Yardstick(vgg, content, [style]).references()


def contact_sheet(path: Path, rows: list[list[np.ndarray]], labels: list[str],
                  columns: list[str], max_bytes: int) -> Path:
    """A JPEG grid of uint8 images (one row per pair: labels on the left, column titles on
    top), its quality lowered until the file is at most `max_bytes`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(rows), len(columns), squeeze=False,
                             figsize=(len(columns) * 2.0, len(rows) * 1.5 + 0.3))
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            ax = axes[i, j]
            ax.imshow(np.asarray(image, np.uint8))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(columns[j], fontsize=7)
            if j == 0:
                ax.set_ylabel(labels[i], fontsize=6)
    fig.tight_layout(pad=0.2)
    png = path.with_suffix(".tmp.png")
    fig.savefig(png, dpi=110)
    plt.close(fig)
    grid = np.asarray(images.load(png))
    png.unlink()
    save_jpeg(to_uint8(grid), path, max_bytes)
    return path
