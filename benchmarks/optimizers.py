"""Optimizers on the Gatys objective: loss against evaluations and seconds.

Every method starts from the same initial image x_0 (per seed; --init), on the same content,
style, size, weights and lambda, and is given the same budget of loss+gradient evaluations:

- jax_lbfgs: the project's L-BFGS (gatys_jax.optim.solvers.lbfgs_solver: one evaluation per step;
  initial inverse Hessian gamma I, as in torch.optim.LBFGS).
- jax_lbfgs_preconditioned: the same with its spatial-frequency preconditioner (exponent 0.5).
- jax_adam: the project's optax Adam (solvers.named("adam")), once per --adam-lrs value.
- optax_lbfgs_zoom: optax.lbfgs(memory_size=--history) with its default zoom line search
  (strong Wolfe, at most 20 trials per iteration).
- optax_lbfgs_backtracking: optax.lbfgs with optax.scale_by_backtracking_linesearch
  (Armijo, at most 15 halvings by 0.8, store_grad=True).
- optax_adabelief: optax.adabelief(--other-lr), another optimizer a user might reach for.
- torch_lbfgs: torch.optim.LBFGS in the classic setting (history --history, lr 1, no line
  search), through benchmarks/torch_reference.py; the anchor.
- torch_adam: torch.optim.Adam (lr --torch-adam-lr), through benchmarks/torch_reference.py.

Every JAX method is a gatys_jax.optim.solvers.Solver run by gatys_jax.engine.driver on one
gatys_jax.model.objective.Problem, as stylize runs its optimizer: compiled once per method (x_0 is
an argument), then run for each seed.

Counting. Every evaluation of the objective is counted, line-search trials included: each
solver step reports the evaluations it made (optax's line searches: their
`num_linesearch_steps`; each zoom trial computes loss and gradient, each backtracking trial
the loss and its linearization, the accepted one also the gradient). Curves are plotted
against evaluations, never iterations. A line-search method cannot stop inside an iteration:
its run stops once it has made --evaluations evaluations, and the iteration that went past
the budget is left out of the report (its last row within the budget counts, with that
row's image); every other method ends at exactly --evaluations.

Time. Seconds run from the first evaluation, compile time (JAX) or one warm-up evaluation
(PyTorch) apart. A line-search method runs one step per compiled call, so that it stops as
soon as the budget is spent; the others run as many steps per call as stylize does
(gatys_jax.engine.driver.steps_per_call). The optax line searches run inside lax.while_loop; on
XLA:CPU a convolution inside a loop body is several times slower than in a jitted step
(jax-ml/jax#12868; see gatys_jax/engine/driver.py), so on CPU their seconds include that penalty:
what a user of optax.lbfgs gets.

Target: for each seed, within --target-rtol (default 5%) of the best final loss any method
reached on that seed (or --target, one absolute loss). Seeds differ in what they can reach,
hence one target per seed.

Writes to --out (default results/optimizers): curves.csv (method, seed, evaluations,
seconds, total_loss), summary.csv and summary.md (per method: median final loss and its
min-max, median evaluations and seconds to the target with min-max over the seeds that
reached it, how many reached it; and the median loss after 1, 10, 50, 100, 200, 300, ...
evaluations), curves.png (loss against evaluations and against seconds, log scale, median
line and min-max band over seeds) and grid.png (final images, first seed); and, unless
--no-docs, summary.md with the command line to --docs (default docs/optimizer_methods.md).

    python -m benchmarks.optimizers --size 128 --evaluations 300 --seeds 0,1,2
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from pathlib import Path

from gatys_jax import event_log
from gatys_jax.cli import flags
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.problem import Problem
from gatys_jax.weights import h5
from lab import experiment, host, script

from . import common, optimizer_charts, optimizer_report, optimizer_runs

MODULE = "benchmarks.optimizers"
DEFAULTS = common.defaults(size=128)
# every method brings its own optimizer settings; seeds are --seeds; the PyTorch methods
# compute in float32
SKIP = ("iterations", "optimizer", "learning_rate", "precondition", "seed", "dtype",
        "max_batch", "save_every", "max_megapixels")
CURVE_FIELDS = ["method", "seed", "evaluations", "seconds", "total_loss"]


class DifferentStarts(GatysError):
    """Two methods' initial losses on one seed differ: they did not start from the same x_0."""


# ---------------------------------------------------------------- arguments


def parse_floats(text: str, flag: str, parser) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        parser.error(f"{flag} {text!r}: expected comma-separated numbers, e.g. 3,10,30")
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        parser.error(f"{flag} {text!r}: values must be positive and finite")
    return values


def parse_args(argv=None):
    p = script.parser(__doc__, DEFAULTS, SKIP)
    choices = ",".join(optimizer_runs.FAMILIES)
    p.add_argument("--evaluations", type=int, default=300,
                   help="loss+gradient evaluations per run (default 300)")
    p.add_argument("--seeds", default="0,1,2", help="noise seeds, e.g. 0,1,2 or 0-7 (default 0,1,2)")
    p.add_argument("--methods", default=choices,
                   help=f"comma-separated subset of {choices} (default: all)")
    p.add_argument("--adam-lrs", default="3,10,30",
                   help="learning rates of the project's Adam, one run each (default 3,10,30)")
    p.add_argument("--other-lr", type=float, default=10.0,
                   help="optax.adabelief learning rate (default 10)")
    p.add_argument("--torch-adam-lr", type=float, default=10.0,
                   help="torch Adam learning rate (default 10)")
    p.add_argument("--memory-format", default="channels_last", choices=("nchw", "channels_last"),
                   help="PyTorch layout (default channels_last)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: all cores)")
    p.add_argument("--target-rtol", type=float, default=0.05,
                   help="target: this far above the best final loss of each seed (default 0.05)")
    p.add_argument("--target", type=float, default=None,
                   help="one absolute target loss for every seed instead")
    p.add_argument("--out", default=str(common.RESULTS / "optimizers"),
                   help="output folder (default results/optimizers)")
    p.add_argument("--log-dir", type=Path, metavar="DIR",
                   help="also write each run's loss curve as TensorBoard event files, one run "
                        "per method and seed (DIR/<method>_seed<N>), so that they overlay")
    script.add_docs_arguments(p, script.ROOT / "docs" / "optimizer_methods.md")
    args, config = script.parse(p, argv, DEFAULTS)
    families = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in families if m not in optimizer_runs.FAMILIES]
    if unknown or not families:
        p.error(f"unknown method {unknown[0] if unknown else ''!r}; choose from {choices}")
    args.families = list(dict.fromkeys(families))
    args.adam_lrs = parse_floats(args.adam_lrs, "--adam-lrs", p)
    for flag, value in (("--other-lr", args.other_lr), ("--torch-adam-lr", args.torch_adam_lr)):
        if not (math.isfinite(value) and value > 0):
            p.error(f"{flag} must be positive and finite")
    if args.evaluations < 2:
        p.error("--evaluations must be at least 2")
    if not (args.target_rtol >= 0 and math.isfinite(args.target_rtol)):
        p.error("--target-rtol must be a non-negative number")
    try:
        args.seeds = flags.parse_seeds(args.seeds)
    except GatysError as e:
        p.error(str(e))
    if args.log_dir is not None:
        try:
            event_log.check_available()
        except GatysError as e:
            p.error(str(e))
    if any(f.startswith("torch") for f in args.families) and \
            importlib.util.find_spec("torch") is None:
        p.error("torch is not installed: install the torch extra or leave torch_lbfgs and "
                "torch_adam out of --methods")
    return args, config


# ---------------------------------------------------------------- the runs


def run_all(methods, args, config: StyleConfig, vgg, problem: Problem, out: Path) -> dict:
    """runs[(method key, seed)]: every method from every seed's x_0, each printed and appended
    to curves.csv as it ends, so that a run cut short (a time limit) keeps what was done.
    GatysError names the run that failed; DifferentStarts, the method that did not start
    from its seed's x_0."""
    arguments = experiment.device_arguments(problem, config)
    runs, compiled, first_loss = {}, {}, {}
    common.write_csv(out / "curves.csv", [], CURVE_FIELDS)
    for seed in args.seeds:
        for method in methods:
            start = time.perf_counter()
            try:
                r = optimizer_runs.run_method(method, seed, args, config, vgg, problem,
                                              arguments, compiled)
            except GatysError as e:
                raise GatysError(f"{method.key}, seed {seed}: {e}") from e
            runs[(method.key, seed)] = r
            common.write_csv(out / "curves.csv", [{"method": method.key, "seed": seed, **row}
                                                  for row in r["history"]], CURVE_FIELDS,
                             append=True)
            if args.log_dir is not None:
                event_log.write_history(args.log_dir, f"{method.key}_seed{seed}", r["history"])
            check_start(first_loss, seed, method.key, r["history"][0]["total_loss"])
            print(progress(seed, method, r, time.perf_counter() - start), flush=True)
    return runs


def check_start(first_loss: dict, seed: int, key: str, first: float) -> None:
    """Keep the first method's initial loss on `seed` in `first_loss`; DifferentStarts when
    method `key`'s differs from it by more than the backend's tolerance."""
    ref_key, ref_first = first_loss.setdefault(seed, (key, first))
    if abs(first - ref_first) > common.loss_rtol() * abs(ref_first):
        raise DifferentStarts(
            f"seed {seed}: initial loss {first:.7g} of {key} differs from {ref_first:.7g} of "
            f"{ref_key} by more than {common.loss_rtol():g} relative: the methods do not start "
            "from the same x_0")


def progress(seed: int, method, r: dict, seconds: float) -> str:
    """One line on a finished run; `seconds` it took in all."""
    note = ""
    if r.get("discarded"):
        note += f"; the next iteration ({r['discarded']} evaluations) would overshoot"
    if r.get("stopped"):
        note += f"; stopped: {r['stopped']}"
    if "recheck_rel" in r:
        note += f"; loss re-evaluated at the final x: rel. diff {r['recheck_rel']:.1e}"
    return (f"  seed {seed} {method.key}: {r['evaluations']} evaluations, loss "
            f"{r['history'][0]['total_loss']:.5g} -> {r['history'][-1]['total_loss']:.5g}, "
            f"{r['wall_seconds']:.1f} s (+{r['compile_seconds']:.1f} s "
            f"{r.get('compile_kind', 'compile')}; {seconds:.1f} s in all){note}")


def targets_of(args, methods, runs) -> dict:
    """The target loss of each seed: --target, or --target-rtol above the best final loss
    any method reached from that seed."""
    if args.target is not None:
        return dict.fromkeys(args.seeds, args.target)
    return {seed: (1 + args.target_rtol) * min(
        runs[(m.key, seed)]["history"][-1]["total_loss"] for m in methods)
        for seed in args.seeds}


# ---------------------------------------------------------------- outputs


def report(args, config: StyleConfig, shape: tuple[int, int], methods, runs,
           targets: dict, summary: list[dict]) -> str:
    """summary.md: the settings, the target, the summary and the loss-by-evaluation tables."""
    height, width = shape
    n = args.evaluations
    target_text = (f"{args.target:.6g} (given)" if args.target is not None else
                   f"{args.target_rtol:.0%} above the best final loss of each seed: " +
                   ", ".join(f"seed {s} {t:.6g}" for s, t in targets.items()))
    return "\n".join([
        f"## optimizers: {height}x{width} px, {n} evaluations",
        "",
        host.machine() + ".",
        (f"{args.content} + {args.style}, lambda {config.content_weight:g}, {config.pooling} "
         f"pooling, {Path(config.weights).name}, {config.init} init, seeds "
         f"{', '.join(map(str, args.seeds))} (the same x_0 for every method; initial losses "
         f"agree within {common.loss_rtol():g})."),
        (f"Target: {target_text}. Evaluations and seconds to target: median [min, max] over "
         "the seeds that reached it. Line-search methods end at the last whole iteration "
         f"within {n} evaluations."),
        "",
        optimizer_report.summary_table(summary, n),
        "",
        "Loss after k evaluations (median over seeds):",
        "",
        optimizer_report.checkpoint_table(methods, runs, args.seeds, n),
    ])


def write(out: Path, args, config: StyleConfig, argv, shape: tuple[int, int], methods,
          runs: dict) -> None:
    """summary.csv, summary.md, curves.png, grid.png and, unless --no-docs, the docs; prints
    the report and what was written."""
    height, width = shape
    targets = targets_of(args, methods, runs)
    summary = optimizer_report.summarize(methods, runs, targets, args.seeds)
    common.write_csv(out / "summary.csv", summary)
    title = (f"{args.content} + {args.style}, {height}x{width} px, lambda "
             f"{config.content_weight:g}, {config.init} init, seeds "
             f"{','.join(map(str, args.seeds))}; median and min-max over seeds")
    optimizer_charts.plot_curves(out / "curves.png", methods, runs, args.seeds, title)
    optimizer_charts.plot_grid(out / "grid.png", methods, runs, args.seeds[0])
    text = report(args, config, shape, methods, runs, targets, summary)
    (out / "summary.md").write_text(text + "\n")
    docs = script.write_docs(args, "Optimizers on the Gatys objective", MODULE,
                             f"`{script.command_line(MODULE, argv)}`\n\n" + text)
    print()
    print(text)
    print(f"\nwrote {out}/curves.csv, summary.csv, summary.md, curves.png, grid.png"
          + (f", {docs}" if docs else ""))


def main(argv=None) -> int:
    args, config = parse_args(argv)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        vgg = h5.resolve(config.weights)
        problem = experiment.problem(config, args.content, args.style, vgg)
    except (GatysError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    methods = optimizer_runs.methods_from(args.families, args, config.history)
    height, width = problem.shape
    print(f"optimizers: {height}x{width} px, {args.evaluations} evaluations, lambda "
          f"{config.content_weight:g}, {config.init} init, seeds {args.seeds}, "
          f"{Path(config.weights).name}\n{host.machine()}", flush=True)
    try:
        runs = run_all(methods, args, config, vgg, problem, out)
    except GatysError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1 if isinstance(e, DifferentStarts) else 2
    write(out, args, config, argv, problem.shape, methods, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
