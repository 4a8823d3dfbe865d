"""Optimizers on the Gatys objective (issue 5, item 2): loss against evaluations and seconds.

Every method starts from the same white-noise image (per seed), on the same content, style,
size, weights and lambda, and is given the same budget of loss+gradient evaluations:

- jax_lbfgs: the project's L-BFGS (one evaluation per step; by default initial inverse
  Hessian gamma I, as in torch.optim.LBFGS), through gatys_jax.stylize.
- jax_lbfgs_preconditioned: the same with its spatial-frequency preconditioner
  (--precondition 0.5).
- jax_adam: the project's optax Adam through gatys_jax.stylize, once per --adam-lrs value.
- optax_lbfgs_zoom: optax.lbfgs(memory_size=--history) with its default zoom line search
  (strong Wolfe, at most 20 trials per iteration).
- optax_lbfgs_backtracking: optax.lbfgs with optax.scale_by_backtracking_linesearch
  (Armijo, at most 15 halvings by 0.8, store_grad=True).
- optax_adabelief: optax.adabelief(--other-lr), another optimizer a user might reach for.
- torch_lbfgs: torch.optim.LBFGS in the classic setting (history --history, lr 1, no line
  search), through scripts/torch_reference.py; the anchor.
- torch_adam: torch.optim.Adam (lr --torch-adam-lr), through scripts/torch_reference.py.

Counting. Every evaluation of the objective is counted, line-search trials included: the
optax steps are one jitted function each (arguments: the state, VGG parameters, targets,
loss weights) that returns the number of trials its line search made
(`info.num_linesearch_steps`: each zoom trial computes loss and gradient; each backtracking
trial computes the loss and its linearization, the accepted one also the gradient). Curves
are plotted against evaluations, never iterations. A line-search method cannot stop inside
an iteration, so its run ends at the last iteration that fits in --evaluations (its last
row has at most --evaluations evaluations; the iteration that would overshoot is computed
and discarded); every other method ends at exactly --evaluations.

Time. Seconds run from the first evaluation, compile time (JAX) or one warm-up evaluation
(PyTorch) apart. The optax line searches run inside lax.while_loop; on XLA:CPU a convolution
inside a loop body is several times slower than in a jitted step (DESIGN.md, jax#12868), so
on CPU their seconds include that penalty: what a user of optax.lbfgs gets.

Target: for each seed, within --target-rtol (default 5%) of the best final loss any method
reached on that seed (or --target, one absolute loss). Seeds differ in what they can reach,
hence one target per seed.

Writes to --out (default results/compare_optimizers): curves.csv (method, seed, evaluations,
seconds, total_loss), summary.csv and summary.md (per method: median final loss and its
min-max, median evaluations and seconds to the target with min-max over the seeds that
reached it, how many reached it), curves.png (loss against evaluations and against seconds,
log scale, median line and min-max band over seeds) and grid.png (final images, first seed);
and, unless --no-docs, summary.md with the command line to --docs (default
docs/optimizers.md).

    .venv/bin/python scripts/compare_optimizers.py --size 128 --evaluations 300 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib.util
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import bench_common as common
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gatys_jax import batch, losses
from gatys_jax import weights as weights_io
from gatys_jax.errors import GatysError
from gatys_jax.precondition import DEFAULT_EXPONENT as DEFAULT_PRECONDITION

PRECONDITIONED = 0.5  # exponent of the jax_lbfgs_preconditioned runs

FAMILIES = ("jax_lbfgs", "jax_lbfgs_preconditioned", "jax_adam", "optax_lbfgs_zoom", "optax_lbfgs_backtracking",
            "optax_adabelief", "torch_lbfgs", "torch_adam")
LINE_SEARCH = ("optax_lbfgs_zoom", "optax_lbfgs_backtracking")
FIRST_LOSS_RTOL = 1e-4
CURVE_FIELDS = ["method", "seed", "evaluations", "seconds", "total_loss"]


@dataclasses.dataclass(frozen=True)
class Method:
    key: str  # unique, e.g. jax_adam_lr10
    family: str  # one of FAMILIES
    label: str  # for tables and plots
    lr: float | None = None
    precondition: float = DEFAULT_PRECONDITION  # the project's L-BFGS only


def methods_from(families: list[str], args) -> list[Method]:
    h = args.history
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


# ---------------------------------------------------------------- optax: one jitted step


class OptaxState(NamedTuple):
    x: jnp.ndarray  # (H, W, 3) network input
    value: jnp.ndarray  # total loss at x
    grad: jnp.ndarray  # its gradient
    opt: Any  # the optax state
    evaluations: jnp.ndarray  # int32, every evaluation so far (line-search trials included)


def optax_transform(family: str, history: int, lr: float | None):
    if family == "optax_lbfgs_zoom":
        return optax.lbfgs(memory_size=history)  # default: zoom line search, <= 20 trials
    if family == "optax_lbfgs_backtracking":
        return optax.lbfgs(memory_size=history,
                           linesearch=optax.scale_by_backtracking_linesearch(
                               max_backtracking_steps=15, store_grad=True))
    if family == "optax_adabelief":
        return optax.adabelief(lr)
    raise ValueError(f"not an optax method: {family}")


def optax_functions(family: str, config: losses.LossConfig, history: int = 100,
                    lr: float | None = None,
                    on_value: Callable | None = None) -> tuple[Callable, Callable]:
    """(init, step) of an optax method, pure functions of (x | state, net, targets, weights).

    init evaluates x_0 once. step makes one optimizer iteration and adds the evaluations it
    made: a line search's trials (read from its state), else one. `on_value(loss)`, if given,
    is called (jax.debug.callback) at every evaluation of the objective: a check of the count.
    """
    tx = optax_transform(family, history, lr)

    def objective(x, net, targets, weights):
        total = losses.total_loss(net, x, targets, weights, config)[0]
        if on_value is not None:
            jax.debug.callback(on_value, total)
        return total

    evaluate = jax.value_and_grad(objective)

    def init(x, net, targets, weights):
        value, grad = evaluate(x, net, targets, weights)
        return OptaxState(x, value, grad, tx.init(x), jnp.ones((), jnp.int32))

    def step(state: OptaxState, net, targets, weights) -> OptaxState:
        if family in LINE_SEARCH:
            updates, opt = tx.update(state.grad, state.opt, state.x, value=state.value,
                                     grad=state.grad, value_fn=objective, net=net,
                                     targets=targets, weights=weights)
            x = optax.apply_updates(state.x, updates)
            # the line search leaves the loss and gradient at the accepted point in its state
            value, grad = optax.tree.get(opt, "value"), optax.tree.get(opt, "grad")
            used = optax.tree.get(opt, "num_linesearch_steps").astype(jnp.int32)
        else:
            updates, opt = tx.update(state.grad, state.opt, state.x)
            x = optax.apply_updates(state.x, updates)
            value, grad = evaluate(x, net, targets, weights)
            used = jnp.ones((), jnp.int32)
        return OptaxState(x, value, grad, opt, state.evaluations + used)

    return init, step


@dataclasses.dataclass
class Problem:
    """Everything a JAX run of one seed needs besides x_0 (computed once per setting)."""

    config: losses.LossConfig
    net: dict
    targets: losses.Targets
    weights: losses.LossWeights


def make_problem(vgg, setting: common.Setting, content_weight: float, pooling: str) -> Problem:
    config = losses.LossConfig(pooling=pooling)
    net = jax.device_put(vgg.params)
    targets = jax.jit(losses.make_targets, static_argnums=3)(
        net, jnp.asarray(setting.content_x), jnp.asarray(setting.style_x), config)
    weights = losses.make_loss_weights(content_weight, [1.0 / len(config.style_layers)]
                                       * len(config.style_layers))
    return Problem(config, net, targets, weights)


def compile_optax(family, problem: Problem, x0, history, lr, on_value=None):
    """(init, step, compile seconds), compiled for these shapes (x_0 is an argument)."""
    init, step = optax_functions(family, problem.config, history, lr, on_value)
    args = (problem.net, problem.targets, problem.weights)
    start = time.perf_counter()
    init_c = jax.jit(init).lower(jnp.asarray(x0), *args).compile()
    state_shape = jax.eval_shape(init, jnp.asarray(x0), *args)
    step_c = jax.jit(step).lower(state_shape, *args).compile()
    return init_c, step_c, time.perf_counter() - start


def run_optax(init_c, step_c, problem: Problem, x0, evaluations: int) -> dict:
    """Iterate until the next iteration would exceed `evaluations`; one row per iteration."""
    args = (problem.net, problem.targets, problem.weights)
    start = time.perf_counter()
    state = init_c(jnp.asarray(x0), *args)
    rows = [{"evaluations": 1, "total_loss": float(state.value),
             "seconds": time.perf_counter() - start}]
    discarded, stopped = 0, None
    for _ in range(evaluations):  # every iteration makes at least one evaluation
        if rows[-1]["evaluations"] >= evaluations:
            break
        new = step_c(state, *args)
        count, value = int(new.evaluations), float(new.value)
        if count > evaluations:
            discarded = count - rows[-1]["evaluations"]
            break
        if not math.isfinite(value):
            stopped = f"non-finite loss after {count} evaluations"
            break
        rows.append({"evaluations": count, "total_loss": value,
                     "seconds": time.perf_counter() - start})
        state = new
    return {"history": rows, "evaluations": rows[-1]["evaluations"],
            "wall_seconds": rows[-1]["seconds"], "x": np.asarray(state.x),
            "discarded": discarded, "stopped": stopped}


# ---------------------------------------------------------------- the comparison


def parse_floats(text: str, flag: str, parser) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        parser.error(f"{flag} {text!r}: expected comma-separated numbers, e.g. 3,10,30")
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        parser.error(f"{flag} {text!r}: values must be positive and finite")
    return values


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_problem_arguments(p)
    p.add_argument("--size", type=int, default=128, help="long side in px (default 128)")
    p.add_argument("--evaluations", type=int, default=300,
                   help="loss+gradient evaluations per run (default 300)")
    p.add_argument("--seeds", default="0,1,2", help="noise seeds, e.g. 0,1,2 or 0-7 (default 0,1,2)")
    p.add_argument("--content-weight", type=float, default=1e-3, help="lambda (default 1e-3)")
    p.add_argument("--init", default="noise", choices=("noise", "content", "style"),
                   help="initial image (default noise)")
    p.add_argument("--pooling", default="avg", choices=("avg", "max"))
    p.add_argument("--methods", default=",".join(FAMILIES),
                   help=f"comma-separated subset of {','.join(FAMILIES)} (default: all)")
    p.add_argument("--adam-lrs", default="3,10,30",
                   help="learning rates of the project's Adam, one run each (default 3,10,30)")
    p.add_argument("--other-lr", type=float, default=10.0,
                   help="optax.adabelief learning rate (default 10)")
    p.add_argument("--torch-adam-lr", type=float, default=10.0,
                   help="torch Adam learning rate (default 10)")
    p.add_argument("--history", type=int, default=100,
                   help="L-BFGS history of every L-BFGS (default 100)")
    p.add_argument("--memory-format", default="channels_last", choices=("nchw", "channels_last"),
                   help="PyTorch layout (default channels_last)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: all cores)")
    p.add_argument("--target-rtol", type=float, default=0.05,
                   help="target: this far above the best final loss of each seed (default 0.05)")
    p.add_argument("--target", type=float, default=None,
                   help="one absolute target loss for every seed instead")
    p.add_argument("--out", default=str(common.ROOT / "results" / "compare_optimizers"),
                   help="output folder (default results/compare_optimizers)")
    common.add_docs_arguments(p, common.ROOT / "docs" / "optimizers.md")
    args = p.parse_args(argv)
    families = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in families if m not in FAMILIES]
    if unknown or not families:
        p.error(f"unknown method {unknown[0] if unknown else ''!r}; choose from {','.join(FAMILIES)}")
    args.families = list(dict.fromkeys(families))
    args.adam_lrs = parse_floats(args.adam_lrs, "--adam-lrs", p)
    for flag, value in (("--other-lr", args.other_lr), ("--torch-adam-lr", args.torch_adam_lr)):
        if not (math.isfinite(value) and value > 0):
            p.error(f"{flag} must be positive and finite")
    if not (math.isfinite(args.content_weight) and args.content_weight >= 0):
        p.error("--content-weight must be non-negative and finite")
    if args.evaluations < 2:
        p.error("--evaluations must be at least 2")
    if args.size < 16:
        p.error(f"--size {args.size} is too small: VGG19 needs at least 16 px per side")
    if args.history < 1:
        p.error("--history must be at least 1")
    if not (args.target_rtol >= 0 and math.isfinite(args.target_rtol)):
        p.error("--target-rtol must be a non-negative number")
    try:
        args.seeds = batch.parse_seeds(args.seeds)
    except GatysError as e:
        p.error(str(e))
    for flag, path in (("--content", args.content), ("--style", args.style),
                       ("--weights", args.weights)):
        if not Path(path).is_file():
            p.error(f"{flag} {path}: no such file")
    if any(f.startswith("torch") for f in args.families) and \
            importlib.util.find_spec("torch") is None:
        p.error("torch is not installed: install the torch extra or leave torch_lbfgs and "
                "torch_adam out of --methods")
    return args


def run_method(method: Method, seed: int, args, vgg, setting, problem, compiled) -> dict:
    """One run: a dict with history (rows of evaluations, total_loss, seconds), evaluations,
    wall_seconds, compile_seconds and the final image (uint8)."""
    x0 = setting.x0(args.init, seed)
    n = args.evaluations
    if method.family.startswith("jax_"):
        r = common.run_jax(args.content, args.style, size=args.size, evaluations=n,
                           optimizer="adam" if method.family == "jax_adam" else "lbfgs",
                           learning_rate=method.lr, content_weight=args.content_weight,
                           pooling=args.pooling, weights=vgg, init=args.init, seed=seed,
                           history=args.history, precondition=method.precondition)
        return r
    if method.family.startswith("optax"):
        if method.key not in compiled:
            compiled[method.key] = compile_optax(method.family, problem, x0, args.history,
                                                 method.lr)
        init_c, step_c, seconds = compiled[method.key]
        r = run_optax(init_c, step_c, problem, x0, n)
        # the recorded loss belongs to the returned image: check it once more (not counted)
        check = float(init_c(jnp.asarray(r["x"]), problem.net, problem.targets,
                             problem.weights).value)
        r["recheck_rel"] = abs(check - r["history"][-1]["total_loss"]) / abs(check)
        r.update(compile_seconds=seconds if seed == args.seeds[0] else 0.0,
                 image=setting.to_rgb(r["x"]))
        return r
    if "torch" not in compiled:
        import torch_reference as ref
        ref.set_threads(args.threads)
        compiled["torch"] = common.torch_objective(
            vgg, setting.content_x, setting.style_x, content_weight=args.content_weight,
            pooling=args.pooling, memory_format=args.memory_format)
    r = common.run_torch("lbfgs" if method.family == "torch_lbfgs" else "adam",
                         compiled["torch"], x0, n, learning_rate=method.lr, history=args.history)
    r["image"] = setting.to_rgb(r["x"])
    return r


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
    as in bench_common.loss_at, the loss of the last row at or before it; a run holds its
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


def write_csv(path: Path, rows: list[dict], fields: list[str], append: bool = False) -> None:
    with open(path, "a" if append else "w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        if not append:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        vgg = weights_io.load(args.weights)
        setting = common.setting(args.content, args.style, args.size, vgg)
    except (GatysError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    methods = methods_from(args.families, args)
    n = args.evaluations
    height, width = setting.content.shape[:2]
    problem = make_problem(vgg, setting, args.content_weight, args.pooling) \
        if any(m.family.startswith("optax") for m in methods) else None
    print(f"compare_optimizers: {height}x{width} px, {n} evaluations, lambda "
          f"{args.content_weight:g}, {args.init} init, seeds {args.seeds}, "
          f"{Path(args.weights).name}\n{common.machine()}", flush=True)

    runs, compiled, first_loss = {}, {}, {}
    # curves.csv grows run by run, so that a run cut short (a time limit) keeps what was done
    write_csv(out / "curves.csv", [], CURVE_FIELDS)
    for seed in args.seeds:
        for method in methods:
            start = time.perf_counter()
            try:
                r = run_method(method, seed, args, vgg, setting, problem, compiled)
            except GatysError as e:
                print(f"error: {method.key}, seed {seed}: {e}", file=sys.stderr)
                return 2
            runs[(method.key, seed)] = r
            write_csv(out / "curves.csv", [{"method": method.key, "seed": seed, **row}
                                           for row in r["history"]], CURVE_FIELDS, append=True)
            first = r["history"][0]["total_loss"]
            first_loss.setdefault(seed, (method.key, first))
            ref_key, ref_first = first_loss[seed]
            if abs(first - ref_first) > FIRST_LOSS_RTOL * abs(ref_first):
                print(f"error: seed {seed}: initial loss {first:.7g} of {method.key} differs "
                      f"from {ref_first:.7g} of {ref_key} by more than {FIRST_LOSS_RTOL:g} "
                      "relative: the methods do not start from the same x_0", file=sys.stderr)
                return 1
            note = ""
            if r.get("discarded"):
                note += f"; the next iteration ({r['discarded']} evaluations) would overshoot"
            if r.get("stopped"):
                note += f"; stopped: {r['stopped']}"
            if "recheck_rel" in r:
                note += f"; loss re-evaluated at the final x: rel. diff {r['recheck_rel']:.1e}"
            print(f"  seed {seed} {method.key}: {r['evaluations']} evaluations in "
                  f"{len(r['history']) - 1} iterations, loss {first:.5g} -> "
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

    write_csv(out / "summary.csv", summary, list(summary[0]))
    title = (f"{Path(args.content).stem} + {Path(args.style).stem}, {height}x{width} px, "
             f"lambda {args.content_weight:g}, {args.init} init, seeds "
             f"{','.join(map(str, args.seeds))}; median and min-max over seeds")
    plot_curves(out / "curves.png", methods, runs, args.seeds, title)
    plot_grid(out / "grid.png", methods, runs, args.seeds[0])
    target_text = (f"{args.target:.6g} (given)" if args.target is not None else
                   f"{args.target_rtol:.0%} above the best final loss of each seed: " +
                   ", ".join(f"seed {s} {t:.6g}" for s, t in targets.items()))
    report = "\n".join([
        f"## compare_optimizers: {height}x{width} px, {n} evaluations",
        "",
        common.machine() + ".",
        (f"{Path(args.content).name} + {Path(args.style).name}, lambda "
         f"{args.content_weight:g}, {args.pooling} pooling, {Path(args.weights).name}, "
         f"{args.init} init, seeds {', '.join(map(str, args.seeds))} (the same x_0 for every "
         f"method; initial losses agree within {FIRST_LOSS_RTOL:g})."),
        (f"Target: {target_text}. Evaluations and seconds to target: median [min, max] over "
         "the seeds that reached it. Line-search methods end at the last whole iteration "
         f"within {n} evaluations."),
        "",
        markdown(summary, n),
    ])
    (out / "summary.md").write_text(report + "\n")
    docs = common.write_docs(args, "Optimizers on the Gatys objective", "compare_optimizers.py",
                             f"`{common.command_line('compare_optimizers.py', argv)}`\n\n"
                             + report)
    print()
    print(report)
    print(f"\nwrote {out}/curves.csv, summary.csv, summary.md, curves.png, grid.png"
          + (f", {docs}" if docs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
