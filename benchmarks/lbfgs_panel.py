"""The project's L-BFGS against torch.optim.LBFGS on photo/painting pairs it was not tuned on:
the loss at equal evaluations and the time to reach torch's loss.

For every pair of --pairs (default: the eight of benchmarks.panel.PANEL) and every --seeds
noise seed, at --size with one objective (plain Caffe VGG19 unless --weights, average
pooling, lambda --content-weight, the start the settings give, one scale): torch.optim.LBFGS
(history --history, lr 1, no line search; benchmarks/torch_reference.py) for --evaluations
evaluations, whose final loss is the target; then the project's L-BFGS (--history,
--precondition) from the same x_0 until it has made --evaluations evaluations and reached the
target, for at most --cap x --evaluations. Reported per pair and seed: both losses at 50, 100
and --evaluations evaluations, the trials our Armijo safeguard rejected, and the wall seconds
our run took to reach the target (compile apart) against torch's seconds for its
--evaluations (warm-up apart): the time-to-quality ratio. With --coarse-start PX, also our
coarse-to-fine run (gatys_jax.stylize from PX, doubling up to --size, --evaluations iterations
at each scale): its seconds to torch's loss at full size, counted from the start of its first
scale (compile apart), against torch's. Then the median and the worst over the panel of the
loss ratios (ours / torch) at each checkpoint and of the time ratios. Targets (reported, not
asserted): at equal evaluations at most torch's loss on the median pair and within 1% on the
worst; time to quality at most 0.5x on a 2-core CPU at 256 px, 0.3x on a GPU.

Writes --out (default results/lbfgs_panel): panel.csv (one row per pair and seed) and
curves.csv (every run's loss by evaluation); and, unless --no-docs, the report to
docs/optimizers.md; all of them again after every pair, so that a run cut short keeps the
pairs it finished.

    python -m benchmarks.lbfgs_panel --size 256 --seeds 0,1
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import types
from pathlib import Path

import gatys_jax
from gatys_jax.errors import GatysError
from gatys_jax.weights import h5
from lab import experiment, host, script

from . import common, optimizer_runs, panel

MODULE = "benchmarks.lbfgs_panel"
DEFAULTS = common.defaults(size=256, content_weight=1e-3, start_size=None)
SKIP = ("iterations", "optimizer", "learning_rate", "seed", "dtype", "max_batch", "save_every",
        "max_megapixels", "start_size", "stop_tolerance", "stop_window")
CHECKPOINTS = (50, 100)  # and --evaluations
TORCH = optimizer_runs.Method("torch_lbfgs", "torch_lbfgs", "torch.optim.LBFGS")
CURVE_FIELDS = ["pair", "seed", "run", "evaluations", "seconds", "total_loss"]


def parse_args(argv=None):
    p = script.parser(__doc__, DEFAULTS, SKIP, images=False)
    panel.add_arguments(p)
    p.add_argument("--evaluations", type=int, default=300,
                   help="torch's evaluations; its final loss is the target (default 300)")
    p.add_argument("--cap", type=float, default=2.0,
                   help="ours runs this times --evaluations, to reach the target (default 2)")
    p.add_argument("--coarse-start", type=int, default=None, metavar="PX",
                   help="also run ours coarse to fine from this long side (default: no)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--memory-format", default="channels_last", choices=("nchw", "channels_last"),
                   help="PyTorch layout (default channels_last)")
    p.add_argument("--out", default=str(common.RESULTS / "lbfgs_panel"),
                   help="output folder (default results/lbfgs_panel)")
    script.add_docs_arguments(p, script.ROOT / "docs" / "optimizers.md")
    args, config = script.parse(p, argv, DEFAULTS)
    panel.read_arguments(p, args)
    if args.evaluations <= max(CHECKPOINTS):
        p.error(f"--evaluations must be above {max(CHECKPOINTS)}")
    if not args.cap >= 1:
        p.error("--cap must be at least 1")
    if args.coarse_start is not None and not 0 < args.coarse_start < config.size:
        p.error("--coarse-start must be between 0 and --size")
    if importlib.util.find_spec("torch") is None:
        p.error("torch is not installed: pip install -e '.[torch]'")
    return args, config


def run_pair(pair, config, args, vgg) -> tuple[list[dict], list[dict]]:
    """(one row per seed, the loss curves) of one pair."""
    problem = experiment.problem(config, pair[0], pair[1], vgg)
    arguments = experiment.device_arguments(problem, config)
    ours = optimizer_runs.Method("jax_lbfgs", "jax_lbfgs", "gatys_jax L-BFGS",
                                 precondition=config.precondition)
    compiled, rows, curves = {}, [], []
    n = args.evaluations

    def budget(evaluations):
        """The arguments optimizer_runs.run_method reads, with this many evaluations."""
        return types.SimpleNamespace(evaluations=evaluations, threads=args.threads,
                                     memory_format=args.memory_format)

    for seed in args.seeds:
        reference = optimizer_runs.run_method(TORCH, seed, budget(n), config, vgg, problem,
                                              arguments, compiled)
        target = reference["history"][-1]["total_loss"]
        run = optimizer_runs.run_method(ours, seed, budget(int(args.cap * n)), config, vgg,
                                        problem, arguments, compiled,
                                        until=lambda row: row.evaluations[0] >= n and row.totals[0] <= target)
        reached, seconds = common.first_reaching(run["history"], target)
        row = {"pair": panel.pair_name(pair), "seed": seed, "target": target,
               "torch_seconds": reference["wall_seconds"],
               "ours_evaluations_to_target": reached, "ours_seconds_to_target": seconds,
               "time_ratio": seconds / reference["wall_seconds"] if seconds else None,
               "ours_compile_seconds": run["compile_seconds"]}
        for at in (*CHECKPOINTS, n):
            row[f"torch_loss_{at}"] = common.loss_at(reference["history"], at)
            row[f"ours_loss_{at}"] = common.loss_at(run["history"], at)
            row[f"loss_ratio_{at}"] = row[f"ours_loss_{at}"] / row[f"torch_loss_{at}"]
        row["ours_rejected"] = run["rejected"]
        if args.coarse_start:
            coarse = coarse_to_fine(pair, seed, config, args, target)
            row["coarse_seconds_to_target"] = coarse
            row["coarse_time_ratio"] = coarse / reference["wall_seconds"] if coarse else None
        rows.append(row)
        for name, r in (("torch", reference), ("ours", run)):
            curves += [{"pair": row["pair"], "seed": seed, "run": name, **h}
                       for h in r["history"]]
        print(f"  {row['pair']} seed {seed}: loss ratio at {n} {row[f'loss_ratio_{n}']:.4f}, "
              f"{run['rejected']} rejected, target at {reached} evaluations "
              f"({seconds or float('nan'):.1f} s vs torch {reference['wall_seconds']:.1f} s)",
              flush=True)
    return rows, curves


def coarse_to_fine(pair, seed: int, config, args, target: float) -> float | None:
    """Seconds our coarse-to-fine run took to reach `target` at full size, every scale counted
    (compile apart); None if it did not within --evaluations full-size iterations."""
    result = experiment.completed(gatys_jax.stylize(pair[0], pair[1], config.replace(
        seed=seed, start_size=args.coarse_start, iterations=args.evaluations)))
    elapsed = 0.0  # seconds of the scales before this row's (each scale's clock starts at 0)
    previous = None
    for row in result.images[0].history:
        if previous is not None and row["size"] != previous["size"]:
            elapsed += previous["seconds"]
        if tuple(row["size"]) == tuple(result.size) and row["total_loss"] <= target:
            return elapsed + row["seconds"]
        previous = row
    return None


def median_worst(values: list) -> str:
    known = [v for v in values if v is not None]
    if len(known) < len(values):
        return f"{statistics.median(known):.3f} ({len(values) - len(known)} not reached)" \
            if known else "not reached"
    return f"{statistics.median(known):.3f}, worst {max(known):.3f}"


def report(rows: list[dict], n: int, coarse_start: int | None) -> str:
    at = (*CHECKPOINTS, n)
    coarse = (f" coarse to fine from {coarse_start} px: s to torch's loss (ratio) |"
              if coarse_start else "")
    lines = ["| pair | seed | " + " | ".join(f"loss at {e}: torch / ours" for e in at)
             + " | rejected | ours to torch's loss: evaluations, s | torch s | time ratio |"
             + coarse,
             "| --- | ---: |" + " ---: |" * len(at) + " ---: | ---: | ---: | ---: |"
             + (" ---: |" if coarse_start else "")]
    for r in rows:
        reached = (f"{r['ours_evaluations_to_target']}, {r['ours_seconds_to_target']:.1f}"
                   if r["ours_evaluations_to_target"] else "not reached")
        ratio = f"{r['time_ratio']:.2f}" if r["time_ratio"] is not None else "-"
        line = (f"| {r['pair']} | {r['seed']} | " + " | ".join(
            f"{r[f'torch_loss_{e}']:.4g} / {r[f'ours_loss_{e}']:.4g}" for e in at)
            + f" | {r['ours_rejected']} | {reached} | {r['torch_seconds']:.1f} | {ratio} |")
        if coarse_start:
            line += (f" {r['coarse_seconds_to_target']:.1f} ({r['coarse_time_ratio']:.2f}) |"
                     if r["coarse_time_ratio"] is not None else " not reached |")
        lines.append(line)
    lines += ["", *[f"- loss ratio (ours / torch) at {e} evaluations: median "
                    + median_worst([r[f"loss_ratio_{e}"] for r in rows]) for e in at],
              "- time to torch's loss (ours / torch's "
              f"{n} evaluations, compile and warm-up apart): median "
              + median_worst([r["time_ratio"] for r in rows])]
    if coarse_start:
        lines.append(f"- the same, ours coarse to fine from {coarse_start} px: median "
                     + median_worst([r["coarse_time_ratio"] for r in rows]))
    return "\n".join(lines)


def main(argv=None) -> int:
    args, config = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from . import torch_reference as ref
    ref.set_threads(args.threads)
    try:
        vgg = h5.resolve(config.weights)
    except GatysError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"lbfgs_panel: {len(args.pairs)} pairs x seeds {args.seeds} at {config.size} px\n"
          f"{host.machine()}", flush=True)
    rows, curves = [], []
    for pair in args.pairs:
        try:
            pair_rows, pair_curves = run_pair(pair, config, args, vgg)
        except GatysError as e:
            print(f"error: {panel.pair_name(pair)}: {e}", file=sys.stderr)
            return 2
        rows += pair_rows
        curves += pair_curves
        # written after every pair, so that a run cut short keeps the pairs it finished
        body = write(rows, curves, config, args, argv, out)
    print("\n" + body)
    return 0


def write(rows: list[dict], curves: list[dict], config, args, argv, out: Path) -> str:
    """The CSVs and the report (to --docs unless --no-docs) of the pairs so far."""
    common.write_csv(out / "panel.csv", rows)
    common.write_csv(out / "curves.csv", curves, CURVE_FIELDS)
    pairs = len({r["pair"] for r in rows})
    body = "\n".join([
        f"## The L-BFGS panel: {pairs} pairs x {len(args.seeds)} seeds at {config.size} px", "",
        host.machine() + ".", "",
        f"{Path(config.weights).name}, lambda {config.content_weight:g}, "
        f"{config.pooling} pooling, {config.init} start (noise scale {config.noise_scale:g}), "
        f"history {config.history}, preconditioner exponent {config.precondition:g}. torch: "
        f"torch.optim.LBFGS (lr 1, no line search) for {args.evaluations} evaluations; ours "
        f"from the same x_0 until it has made as many and reached torch's loss, at most "
        f"{int(args.cap * args.evaluations)}.", "",
        report(rows, args.evaluations, args.coarse_start)])
    script.write_docs(args, "Optimizers: the project's L-BFGS against torch.optim.LBFGS",
                      MODULE, f"`{script.command_line(MODULE, argv)}`\n\n{body}")
    return body


if __name__ == "__main__":
    sys.exit(main())
