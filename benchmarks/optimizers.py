"""Optimizers on the Gatys objective: loss against evaluations and seconds.

Every method starts from the same initial image x_0 (per seed; --init), on the same content,
style, size, weights and lambda, and is given the same budget of loss+gradient evaluations:

- jax_lbfgs: the project's L-BFGS (gatys_jax.optim.solvers.lbfgs_solver: one evaluation per step;
  initial inverse Hessian gamma I, as in torch.optim.LBFGS).
- jax_lbfgs_preconditioned: the same with its spatial-frequency preconditioner (exponent 0.5).
- jax_adam: the project's optax Adam (solvers.resolve("adam")), once per --adam-lrs value.
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

import dataclasses
import importlib.util
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import jax.numpy as jnp
import numpy as np
import optax

from gatys_jax.cli import flags
from gatys_jax.config import StyleConfig
from gatys_jax.engine import driver
from gatys_jax.errors import GatysError
from gatys_jax.optim import lbfgs, solvers
from gatys_jax.problem import Problem
from gatys_jax.weights import h5
from lab import experiment, host, script

from . import common

MODULE = "benchmarks.optimizers"
DEFAULTS = common.defaults(size=128)
# every method brings its own optimizer settings; seeds are --seeds; the PyTorch methods
# compute in float32
SKIP = ("iterations", "optimizer", "learning_rate", "precondition", "seed", "dtype",
        "max_batch", "save_every", "max_megapixels")
PRECONDITIONED = 0.5  # exponent of the jax_lbfgs_preconditioned runs

FAMILIES = ("jax_lbfgs", "jax_lbfgs_preconditioned", "jax_adam", "optax_lbfgs_zoom",
            "optax_lbfgs_backtracking", "optax_adabelief", "torch_lbfgs", "torch_adam")
LINE_SEARCH = ("optax_lbfgs_zoom", "optax_lbfgs_backtracking")
CURVE_FIELDS = ["method", "seed", "evaluations", "seconds", "total_loss"]
CHECKPOINTS = (1, 10, 50, 100, 200, 300, 500, 1000)  # evaluations of the loss-by-evaluation table


@dataclasses.dataclass(frozen=True)
class Method:
    key: str  # unique, e.g. jax_adam_lr10
    family: str  # one of FAMILIES
    label: str  # for tables and plots
    lr: float | None = None
    precondition: float = 0.0  # the project's L-BFGS only


def methods_from(families: list[str], args, history: int) -> list[Method]:
    h = history
    single = {  # family -> Method fields of its one method
        "jax_lbfgs": {"label": f"gatys_jax L-BFGS (history {h})"},
        "jax_lbfgs_preconditioned": {
            "label": f"gatys_jax L-BFGS (history {h}, preconditioned, e {PRECONDITIONED:g})",
            "precondition": PRECONDITIONED},
        "optax_lbfgs_zoom": {"label": f"optax.lbfgs, zoom (memory {h})"},
        "optax_lbfgs_backtracking": {"label": f"optax.lbfgs, backtracking (memory {h})"},
        "optax_adabelief": {"label": f"optax.adabelief (lr {args.other_lr:g})",
                            "lr": args.other_lr},
        "torch_lbfgs": {"label": f"torch LBFGS (history {h}, lr 1, no line search)"},
        "torch_adam": {"label": f"torch Adam (lr {args.torch_adam_lr:g})",
                       "lr": args.torch_adam_lr},
    }
    out = []
    for family in families:
        if family == "jax_adam":
            out += [Method(f"jax_adam_lr{lr:g}", family, f"gatys_jax Adam (lr {lr:g})", lr)
                    for lr in args.adam_lrs]
        else:
            out.append(Method(family, family, **single[family]))
    return out


# ---------------------------------------------------------------- one run


def solver(method: Method, history: int) -> solvers.Solver:
    """The method's solver, made as a StyleConfig's optimizer settings make it where they can."""
    if method.family in ("jax_lbfgs", "jax_lbfgs_preconditioned"):
        return solvers.resolve("lbfgs", None, history, method.precondition)
    if method.family == "jax_adam":
        return solvers.resolve("adam", method.lr)
    if method.family == "optax_lbfgs_zoom":  # optax's default: zoom, <= 20 trials
        return solvers.resolve("optax:lbfgs", None, history)
    if method.family == "optax_lbfgs_backtracking":
        return solvers.from_optax(optax.lbfgs(
            memory_size=history, linesearch=optax.scale_by_backtracking_linesearch(
                max_backtracking_steps=15, store_grad=True)), method.key)
    if method.family == "optax_adabelief":
        return solvers.resolve("optax:adabelief", method.lr)
    raise ValueError(f"not a JAX method: {method.family}")


def run_solver(method: Method, x0, problem: Problem, arguments: tuple, evaluations: int,
               history: int, compiled: dict, until: Callable[[tuple], bool] | None = None
               ) -> dict:
    """One run of a JAX method through the driver for at most `evaluations` evaluations (or
    until `until(trace row)`, driver.run); the rows (and the image) of an iteration that went
    past them are left out. The project's L-BFGS also reports the trials it rejected."""
    x0 = jnp.asarray(x0)
    first = method.key not in compiled
    if first:
        compiled[method.key] = driver.compile(
            solver(method, history), problem.objective, x0, *arguments,
            chunk=1 if method.family in LINE_SEARCH else None)
    program = compiled[method.key]
    rows, kept = [], {}

    def keep(state, row):
        done = int(row[0][0])
        if done > evaluations:
            kept["discarded"] = done - rows[-1]["evaluations"]
            return
        rows.append({"evaluations": done, "total_loss": float(row[1][0]), "seconds": row[2]})
        kept["x"] = jnp.copy(state.x)  # the state is donated to the next step
        if isinstance(state.opt, lbfgs.Search):
            kept["rejected"] = int(state.opt.rejected)

    try:
        run = driver.run(program, x0, arguments, evaluations - 1, keep,
                         max_evaluations=evaluations, until=until)
    except driver.NonFiniteLoss as e:
        kept["stopped"] = str(e)
    else:
        if run.interrupted:  # a run cut short is no measurement: stop the benchmark
            raise KeyboardInterrupt
    # the recorded loss belongs to the returned image: check it once more (not counted)
    check = float(program.init(kept["x"], *arguments).value)
    return {"history": rows, "evaluations": rows[-1]["evaluations"],
            "wall_seconds": rows[-1]["seconds"],
            "compile_seconds": program.seconds if first else 0.0,
            "image": problem.to_rgb(kept["x"]), "discarded": kept.get("discarded"),
            "stopped": kept.get("stopped"), "rejected": kept.get("rejected"),
            "recheck_rel": abs(check - rows[-1]["total_loss"]) / abs(check)}


def run_method(method: Method, seed: int, args, config: StyleConfig, vgg, problem: Problem,
               arguments: tuple, compiled: dict,
               until: Callable[[tuple], bool] | None = None) -> dict:
    """One run: a dict with history (rows of evaluations, total_loss, seconds), evaluations,
    wall_seconds, compile_seconds and the final image (uint8). `until` (JAX methods only)
    may end it before args.evaluations (run_solver)."""
    x0 = problem.x0(config.replace(seed=seed))
    n = args.evaluations
    if not method.family.startswith("torch"):
        return run_solver(method, x0, problem, arguments, n, config.history, compiled, until)
    if "torch" not in compiled:
        from . import torch_reference as ref
        ref.set_threads(args.threads)
        compiled["torch"] = common.torch_objective(vgg, problem, config, args.memory_format)
    r = common.run_torch("lbfgs" if method.family == "torch_lbfgs" else "adam",
                         compiled["torch"], x0, n, learning_rate=method.lr,
                         history=config.history)
    r["image"] = problem.to_rgb(r["x"])
    return r


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
    p.add_argument("--evaluations", type=int, default=300,
                   help="loss+gradient evaluations per run (default 300)")
    p.add_argument("--seeds", default="0,1,2", help="noise seeds, e.g. 0,1,2 or 0-7 (default 0,1,2)")
    p.add_argument("--methods", default=",".join(FAMILIES),
                   help=f"comma-separated subset of {','.join(FAMILIES)} (default: all)")
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
    script.add_docs_arguments(p, script.ROOT / "docs" / "optimizer_methods.md")
    args, config = script.parse(p, argv, DEFAULTS)
    families = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in families if m not in FAMILIES]
    if unknown or not families:
        p.error(f"unknown method {unknown[0] if unknown else ''!r}; choose from {','.join(FAMILIES)}")
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
    if any(f.startswith("torch") for f in args.families) and \
            importlib.util.find_spec("torch") is None:
        p.error("torch is not installed: install the torch extra or leave torch_lbfgs and "
                "torch_adam out of --methods")
    return args, config


# ---------------------------------------------------------------- the report


def spread(values: list) -> tuple:
    """(median, min, max) of the values that are not None, or (None, None, None)."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def fmt_spread(triple, spec: str) -> str:
    median, low, high = triple
    if median is None:
        return "not reached"
    return f"{median:{spec}} [{low:{spec}}, {high:{spec}}]"


def summarize(methods, runs, targets, seeds) -> list[dict]:
    rows = []
    for method in methods:
        mine = [runs[(method.key, seed)] for seed in seeds]
        reached = [common.first_reaching(r["history"], targets[seed])
                   for r, seed in zip(mine, seeds)]
        finals = [r["history"][-1]["total_loss"] for r in mine]
        rows.append({
            "method": method.key, "label": method.label, "runs": len(mine),
            "evaluations_min": min(r["evaluations"] for r in mine),
            "evaluations_max": max(r["evaluations"] for r in mine),
            **dict(zip(("final_loss_median", "final_loss_min", "final_loss_max"),
                       spread(finals))),
            **dict(zip(("evals_to_target_median", "evals_to_target_min", "evals_to_target_max"),
                       spread([e for e, _ in reached]))),
            **dict(zip(("seconds_to_target_median", "seconds_to_target_min",
                        "seconds_to_target_max"), spread([s for _, s in reached]))),
            "reached": sum(e is not None for e, _ in reached),
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in mine),
            "compile_seconds": max(r["compile_seconds"] for r in mine),
            "compile_kind": mine[0].get("compile_kind", "compile"),
        })
    return rows


def markdown(summary: list[dict], n: int) -> str:
    lines = [(f"| method | final loss, median [min, max] | evaluations made | evaluations to "
             f"target | seconds to target | reached | wall s ({n} evals) | compile / warm-up s |"),
             "| --- | --- | ---: | --- | --- | ---: | ---: | ---: |"]
    for s in summary:
        made = (str(s["evaluations_min"]) if s["evaluations_min"] == s["evaluations_max"]
                else f"{s['evaluations_min']}-{s['evaluations_max']}")
        triple = lambda name, s=s: tuple(s[f"{name}_{k}"] for k in ("median", "min", "max"))
        lines.append(
            f"| {s['label']} | {fmt_spread(triple('final_loss'), '.4g')} | {made} | "
            f"{fmt_spread(triple('evals_to_target'), '.0f')} | "
            f"{fmt_spread(triple('seconds_to_target'), '.1f')} | {s['reached']}/{s['runs']} | "
            f"{s['wall_seconds_median']:.1f} | {s['compile_seconds']:.1f} ({s['compile_kind']}) |")
    return "\n".join(lines)


def band(histories: list[list[dict]], grid: np.ndarray, key: str) -> np.ndarray:
    """(3, len(grid)) median, min, max over runs of the loss at each grid value of `key`:
    as in common.loss_at, the loss of the last row at or before it; a run holds its
    first loss before its first row and its final loss after its last."""
    values = []
    for history in histories:
        keys = np.array([row[key] for row in history], float)
        loss = np.array([row["total_loss"] for row in history], float)
        values.append(loss[np.maximum(np.searchsorted(keys, grid, side="right") - 1, 0)])
    values = np.array(values)
    return np.stack([np.median(values, 0), values.min(0), values.max(0)])


def plot_curves(path: Path, methods, runs, seeds, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    colors = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    for index, method in enumerate(methods):
        histories = [runs[(method.key, seed)]["history"] for seed in seeds]
        color = colors(index)
        last = max(h[-1]["evaluations"] for h in histories)
        grids = {"evaluations": np.arange(1, last + 1),
                 "seconds": np.linspace(0, max(h[-1]["seconds"] for h in histories), 300)}
        for ax, key in zip(axes, ("evaluations", "seconds")):
            median, low, high = band(histories, grids[key], key)
            # steps: a loss is known only where an evaluation (or iteration) ended
            ax.plot(grids[key], median, color=color, label=method.label, lw=1.5,
                    drawstyle="steps-post")
            if len(seeds) > 1:
                ax.fill_between(grids[key], low, high, color=color, alpha=0.2, lw=0,
                                step="post")
    for ax, xlabel in zip(axes, ("loss + gradient evaluations", "wall seconds (compile apart)")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("total loss")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_grid(path: Path, methods, runs, seed: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    columns = min(4, len(methods))
    rows = math.ceil(len(methods) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, method in zip(axes.flat, methods):
        r = runs[(method.key, seed)]
        ax.imshow(r["image"])
        ax.set_title(f"{method.label}\nloss {r['history'][-1]['total_loss']:.4g} after "
                     f"{r['evaluations']} evals", fontsize=8)
    fig.suptitle(f"final images, seed {seed}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def checkpoint_table(methods, runs, seeds, n: int) -> str:
    """Median over seeds of the loss after 1, 10, 50, ... evaluations (and after n)."""
    points = [c for c in CHECKPOINTS if c < n] + [n]
    lines = ["| method | " + " | ".join(f"{c} evals" for c in points) + " |",
             "| --- |" + " ---: |" * len(points)]
    for method in methods:
        medians = [statistics.median(common.loss_at(runs[(method.key, seed)]["history"], c)
                                     for seed in seeds) for c in points]
        lines.append(f"| {method.label} | " + " | ".join(f"{v:.4g}" for v in medians) + " |")
    return "\n".join(lines)


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
    methods = methods_from(args.families, args, config.history)
    n = args.evaluations
    height, width = problem.shape
    arguments = experiment.device_arguments(problem, config)
    weights_name = Path(config.weights).name
    print(f"optimizers: {height}x{width} px, {n} evaluations, lambda "
          f"{config.content_weight:g}, {config.init} init, seeds {args.seeds}, "
          f"{weights_name}\n{host.machine()}", flush=True)

    runs, compiled, first_loss = {}, {}, {}
    # curves.csv grows run by run, so that a run cut short (a time limit) keeps what was done
    common.write_csv(out / "curves.csv", [], CURVE_FIELDS)
    for seed in args.seeds:
        for method in methods:
            start = time.perf_counter()
            try:
                r = run_method(method, seed, args, config, vgg, problem, arguments, compiled)
            except GatysError as e:
                print(f"error: {method.key}, seed {seed}: {e}", file=sys.stderr)
                return 2
            runs[(method.key, seed)] = r
            common.write_csv(out / "curves.csv", [{"method": method.key, "seed": seed, **row}
                                                  for row in r["history"]], CURVE_FIELDS,
                             append=True)
            first = r["history"][0]["total_loss"]
            first_loss.setdefault(seed, (method.key, first))
            ref_key, ref_first = first_loss[seed]
            if abs(first - ref_first) > common.loss_rtol() * abs(ref_first):
                print(f"error: seed {seed}: initial loss {first:.7g} of {method.key} differs "
                      f"from {ref_first:.7g} of {ref_key} by more than {common.loss_rtol():g} "
                      "relative: the methods do not start from the same x_0", file=sys.stderr)
                return 1
            note = ""
            if r.get("discarded"):
                note += f"; the next iteration ({r['discarded']} evaluations) would overshoot"
            if r.get("stopped"):
                note += f"; stopped: {r['stopped']}"
            if "recheck_rel" in r:
                note += f"; loss re-evaluated at the final x: rel. diff {r['recheck_rel']:.1e}"
            print(f"  seed {seed} {method.key}: {r['evaluations']} evaluations, loss "
                  f"{first:.5g} -> "
                  f"{r['history'][-1]['total_loss']:.5g}, {r['wall_seconds']:.1f} s "
                  f"(+{r['compile_seconds']:.1f} s {r.get('compile_kind', 'compile')}; "
                  f"{time.perf_counter() - start:.1f} s in all){note}", flush=True)

    if args.target is not None:
        targets = dict.fromkeys(args.seeds, args.target)
    else:
        targets = {seed: (1 + args.target_rtol) * min(
            runs[(m.key, seed)]["history"][-1]["total_loss"] for m in methods)
            for seed in args.seeds}
    summary = summarize(methods, runs, targets, args.seeds)

    common.write_csv(out / "summary.csv", summary)
    title = (f"{args.content} + {args.style}, {height}x{width} px, lambda "
             f"{config.content_weight:g}, {config.init} init, seeds "
             f"{','.join(map(str, args.seeds))}; median and min-max over seeds")
    plot_curves(out / "curves.png", methods, runs, args.seeds, title)
    plot_grid(out / "grid.png", methods, runs, args.seeds[0])
    target_text = (f"{args.target:.6g} (given)" if args.target is not None else
                   f"{args.target_rtol:.0%} above the best final loss of each seed: " +
                   ", ".join(f"seed {s} {t:.6g}" for s, t in targets.items()))
    report = "\n".join([
        f"## optimizers: {height}x{width} px, {n} evaluations",
        "",
        host.machine() + ".",
        (f"{args.content} + {args.style}, lambda {config.content_weight:g}, {config.pooling} "
         f"pooling, {weights_name}, {config.init} init, seeds "
         f"{', '.join(map(str, args.seeds))} (the same x_0 for every method; initial losses "
         f"agree within {common.loss_rtol():g})."),
        (f"Target: {target_text}. Evaluations and seconds to target: median [min, max] over "
         "the seeds that reached it. Line-search methods end at the last whole iteration "
         f"within {n} evaluations."),
        "",
        markdown(summary, n),
        "",
        "Loss after k evaluations (median over seeds):",
        "",
        checkpoint_table(methods, runs, args.seeds, n),
    ])
    (out / "summary.md").write_text(report + "\n")
    docs = script.write_docs(args, "Optimizers on the Gatys objective", MODULE,
                             f"`{script.command_line(MODULE, argv)}`\n\n" + report)
    print()
    print(report)
    print(f"\nwrote {out}/curves.csv, summary.csv, summary.md, curves.png, grid.png"
          + (f", {docs}" if docs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
