"""The methods benchmarks.optimizers compares, and one run of a method: a JAX solver through
gatys_jax.engine.driver, or PyTorch through benchmarks.torch_runs, from a seed's x_0 for a
budget of evaluations.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax.numpy as jnp
import optax

from gatys_jax.config import StyleConfig
from gatys_jax.engine import driver
from gatys_jax.optim import lbfgs, solvers
from gatys_jax.problem import Problem

from . import torch_runs

PRECONDITIONED = 0.5  # exponent of the jax_lbfgs_preconditioned runs
FAMILIES = ("jax_lbfgs", "jax_lbfgs_preconditioned", "jax_adam", "optax_lbfgs_zoom",
            "optax_lbfgs_backtracking", "optax_adabelief", "torch_lbfgs", "torch_adam")
LINE_SEARCH = ("optax_lbfgs_zoom", "optax_lbfgs_backtracking")


@dataclasses.dataclass(frozen=True)
class Method:
    """One compared method: its family and that family's settings."""

    key: str  # unique, e.g. jax_adam_lr10
    family: str  # one of FAMILIES
    label: str  # for tables and plots
    lr: float | None = None
    precondition: float = 0.0  # the project's L-BFGS only


def methods_from(families: list[str], args, history: int) -> list[Method]:
    """The methods of `families`: one each, the project's Adam one per --adam-lrs value."""
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
        return solvers.named("lbfgs", None, history, method.precondition)
    if method.family == "jax_adam":
        return solvers.named("adam", method.lr)
    if method.family == "optax_lbfgs_zoom":  # optax's default: zoom, <= 20 trials
        return solvers.named("optax:lbfgs", None, history)
    if method.family == "optax_lbfgs_backtracking":
        return solvers.from_optax(optax.lbfgs(
            memory_size=history, linesearch=optax.scale_by_backtracking_linesearch(
                max_backtracking_steps=15, store_grad=True)), method.key)
    if method.family == "optax_adabelief":
        return solvers.named("optax:adabelief", method.lr)
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
            steps=1 if method.family in LINE_SEARCH else None)
    program = compiled[method.key]
    rows, kept = [], {}

    def keep(state, row):
        done = int(row.evaluations[0])
        if done > evaluations:
            kept["discarded"] = done - rows[-1]["evaluations"]
            return
        rows.append({"evaluations": done, "total_loss": float(row.totals[0]),
                     "seconds": row.seconds})
        kept["x"] = jnp.copy(state.x)  # the state is donated to the next step
        if isinstance(state.opt, lbfgs.Search):
            kept["rejected"] = int(state.opt.rejected)

    try:
        run = driver.run(program, x0, arguments,
                         driver.StopRule(evaluations - 1, max_evaluations=evaluations,
                                         until=until), keep)
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
        compiled["torch"] = torch_runs.torch_objective(vgg, problem, config, args.memory_format)
    r = torch_runs.run_torch("lbfgs" if method.family == "torch_lbfgs" else "adam",
                             compiled["torch"], x0, n, learning_rate=method.lr,
                             history=config.history)
    r["image"] = problem.to_rgb(r["x"])
    return r
