"""L-BFGS-B (--optimizer lbfgsb) against the unbounded L-BFGS on the panel: the loss of the
picture each one saves.

The unbounded L-BFGS moves pixels far outside 0..255 where the objective barely sees them;
the saved picture, rounded to 8 bits and clipped, is then another image with another loss.
L-BFGS-B keeps every pixel in 0..255, so the picture saved is the iterate it optimized.

For every pair of --pairs (default: the eight of benchmarks.panel.PANEL) and every --seeds
noise seed, at --size with one objective (the paper's settings unless flags change them: the
normalized weights, conv1_1..conv5_1, lambda 1e-3, a white-noise start), both optimizers
run --iterations steps (one evaluation each) from the same x_0 through gatys_jax.stylize.
Reported per run: the optimizer's total loss at its last iterate, the total loss of the
picture as saved (8 bits, clipped), their ratio, the share of colour channels at 0 or 255,
the speckle of the picture (gatys_jax.quality) and the seconds (compile apart). Then over the
panel, lbfgsb / lbfgs: the median and the worst of the saved pictures' losses, of the
optimizers' losses, and of the seconds.

Writes --out (default results/bounds): bounds.csv (one row per pair, seed and optimizer,
after each seed's two runs), the pictures, and unless --no-docs the report docs/bounds.md
with a contact sheet docs/bounds.jpg (the first seed: each pair's lbfgs and lbfgsb pictures,
under 200 KB). Ctrl-C or SIGTERM ends the panel (exit status 128 + the signal), without the report.

    python -m benchmarks.bounds --size 128 --iterations 1000 --seeds 0,1
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import gatys_jax
from gatys_jax.config import StyleConfig
from gatys_jax.model.convention import to_network
from gatys_jax.weights import h5
from lab import experiment, host, script

from . import common, panel

MODULE = "benchmarks.bounds"
DEFAULTS = StyleConfig.paper(size=128, iterations=1000)
SKIP = ("optimizer", "seed", "max_batch", "save_every", "start_size", "stop_tolerance",
        "stop_pixels", "stop_window", "precondition")
OPTIMIZERS = ("lbfgs", "lbfgsb")
SHEET_BYTES = 200_000
FIELDS = ["pair", "seed", "optimizer", "evaluations", "optimizer_loss", "saved_loss",
          "saved_loss_ratio", "clipped_channels", "speckle", "seconds"]


def parse_args(argv=None):
    p = script.parser(__doc__, DEFAULTS, SKIP, images=False)
    panel.add_arguments(p)
    p.add_argument("--out", default=str(common.RESULTS / "bounds"),
                   help="output folder (default results/bounds)")
    script.add_docs_arguments(p, script.ROOT / "docs" / "bounds.md")
    args, config = script.parse(p, argv, DEFAULTS)
    panel.read_arguments(p, args)
    return args, config


# one compiled program per objective and picture size, shared by every run of the panel
_total = jax.jit(lambda objective, *args: objective.total(*args), static_argnums=0)


def saved_loss(problem, config: StyleConfig, picture: np.ndarray) -> float:
    """The total loss (the one `config`'s optimizer minimizes) of a uint8 picture."""
    params, targets, loss_weights = experiment.device_arguments(problem, config)
    x = jnp.asarray(to_network(picture.astype(np.float32), problem.vgg.convention))
    return float(_total(problem.objective, x, params, targets, loss_weights))


def run(pair, seed: int, optimizer: str, config: StyleConfig, problem, out: Path) -> dict:
    """One optimizer from the pair's white-noise start of `seed`: its row of bounds.csv;
    `problem` is the pair's objective and network, which also score the saved picture."""
    settings = config.replace(optimizer=optimizer, seed=seed)
    name = f"{panel.pair_name(pair)}_seed{seed}_{optimizer}"
    result = experiment.completed(gatys_jax.stylize(
        pair[0], pair[1], settings, vgg=problem.vgg, output=out / f"{name}.png"))
    image = result.images[0]
    optimized = image.losses["total_loss"]
    saved = saved_loss(problem, settings, image.image)
    return {"pair": panel.pair_name(pair), "seed": seed, "optimizer": optimizer,
            "evaluations": image.evaluations, "optimizer_loss": optimized,
            "saved_loss": saved, "saved_loss_ratio": saved / optimized,
            "clipped_channels": float(np.isin(image.image, (0, 255)).mean()),
            "speckle": image.quality["speckle"], "seconds": result.wall_seconds,
            "picture": image.image}


def ratios(rows: list[dict], field: str) -> list[float]:
    """lbfgsb's `field` over lbfgs's, per pair and seed."""
    by_run = {(r["pair"], r["seed"], r["optimizer"]): r[field] for r in rows}
    return [by_run[(p, s, "lbfgsb")] / by_run[(p, s, "lbfgs")]
            for p, s, o in by_run if o == "lbfgs" and (p, s, "lbfgsb") in by_run]


def report(rows: list[dict], config: StyleConfig, argv, sheet: str | None) -> str:
    lines = [f"Machine: {host.machine()}. Command: `{script.command_line(MODULE, argv)}`.",
             "",
             f"Settings: {config.size} px, {config.iterations} steps of one evaluation each, "
             f"lambda {config.content_weight:g}, {config.init} start, weights "
             f"{Path(str(config.weights)).name}, style layers {', '.join(config.style_layers)}.",
             "", "Over the panel, lbfgsb / lbfgs (median, worst):", ""]
    for field, label in (("saved_loss", "loss of the picture as saved"),
                         ("optimizer_loss", "optimizer's loss at its last iterate"),
                         ("seconds", "seconds (compile apart)")):
        values = ratios(rows, field)  # for each, the largest ratio is lbfgsb's worst
        if values:
            lines.append(f"- {label}: median {statistics.median(values):.3g}x, worst "
                         f"{max(values):.3g}x ({len(values)} runs)")
    lines += ["", "| pair | seed | optimizer | optimizer's loss | saved picture's loss | ratio "
              "| channels at 0 or 255 | speckle | seconds |", "|---" * 9 + "|"]
    for r in rows:
        lines.append(f"| {r['pair']} | {r['seed']} | {r['optimizer']} | {r['optimizer_loss']:.4g} "
                     f"| {r['saved_loss']:.4g} | {r['saved_loss_ratio']:.3g} | "
                     f"{r['clipped_channels']:.1%} | {r['speckle']:.1f} | {r['seconds']:.0f} |")
    if sheet:
        lines += ["", f"![lbfgs and lbfgsb pictures, first seed]({sheet})"]
    return "\n".join(lines)


def main(argv=None) -> int:
    args, config = parse_args(argv)
    vgg = h5.resolve(config.weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for pair in args.pairs:
        problem = experiment.problem(config, pair[0], pair[1], vgg)  # the targets, made once a pair
        for seed in args.seeds:
            for optimizer in OPTIMIZERS:
                row = run(pair, seed, optimizer, config, problem, out)
                rows.append(row)
                print(f"  {row['pair']} seed {seed} {optimizer}: loss {row['optimizer_loss']:.4g}, "
                      f"saved {row['saved_loss']:.4g} ({row['saved_loss_ratio']:.3g}x), "
                      f"{row['clipped_channels']:.1%} at 0 or 255, {row['seconds']:.0f} s",
                      flush=True)
            common.write_csv(out / "bounds.csv", rows, FIELDS)
    sheet = None
    if not args.no_docs:
        first = [r for r in rows if r["seed"] == args.seeds[0]]
        path = Path(args.docs).with_suffix(".jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        panel.contact_sheet(path, [[r["picture"] for r in first[i:i + 2]]
                                   for i in range(0, len(first), 2)],
                            [r["pair"] for r in first[::2]], list(OPTIMIZERS), SHEET_BYTES)
        sheet = path.name
    text = report(rows, config, argv, sheet)
    docs = script.write_docs(args, "L-BFGS-B against L-BFGS: the pictures as saved", MODULE, text)
    print(text.split("\n\n| pair")[0])
    if docs:
        print(f"report: {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
