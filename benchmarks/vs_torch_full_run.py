"""vs_torch's full run: torch.optim.LBFGS for a budget of evaluations, whose final loss is the
target, then the project's L-BFGS through the public API per dtype from the same x_0; every
run's saved 8-bit image judged under the float32 objective.
"""

from __future__ import annotations

import jax.numpy as jnp

from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.transfer import stylize
from lab import experiment

from . import common, torch_runs
from .vs_torch_cases import jax_evaluator


def run_jax(content, style, config: StyleConfig, vgg, evaluations: int) -> dict:
    """The project's L-BFGS through the public API, on loaded weights `vgg`, for exactly
    `evaluations` evaluations (stylize's initial evaluation plus evaluations - 1 steps)."""
    result = stylize(content, style, config.replace(iterations=evaluations - 1), vgg=vgg)
    (entry,) = result.images
    name = (f"gatys_jax L-BFGS (history {config.history}, "
            + (f"preconditioned, e {config.precondition:g})" if config.precondition
               else "H0 = gamma I)"))
    if config.dtype != "float32":
        name += f", {config.dtype}"
    return {"name": name, "history": entry.history, "evaluations": entry.evaluations,
            "wall_seconds": result.wall_seconds, "compile_seconds": result.compile_seconds,
            "compile_kind": "compile", "image": entry.image}


def full_run(args, config: StyleConfig, vgg, layout: str) -> dict:
    """torch L-BFGS, then the project's L-BFGS per dtype, from the same x_0: {runs (by
    "torch" and dtype), target, evaluations, label (WxH), layout}."""
    n = args.full_evaluations
    problem = experiment.problem(config, args.content, args.style, vgg)
    x0 = problem.x0(config)
    objective = torch_runs.torch_objective(vgg, problem, config, layout)
    runs = {"torch": torch_runs.run_torch("lbfgs", objective, x0, n, history=config.history)}
    runs["torch"]["name"] += f", {layout}"
    for dtype in args.dtypes:
        runs[dtype] = run_jax(args.content, args.style, config.replace(dtype=dtype), vgg, n)
    # the saved 8-bit images (clipped to 0..255 and rounded: what the user keeps) under the
    # float32 objective, so that every run is judged the same way
    compiled, (_, *arguments), _ = jax_evaluator(problem, config)
    runs["torch"]["image"] = problem.to_rgb(runs["torch"]["x"])
    for r in runs.values():
        x = jnp.asarray(problem.to_network(r["image"]))
        r["float32_loss"] = float(compiled(x, *arguments)[0])
    target = runs["torch"]["history"][-1]["total_loss"]
    firsts = [r["history"][0]["total_loss"] for key, r in runs.items() if key != "bfloat16"]
    if max(abs(f / firsts[0] - 1) for f in firsts) > common.loss_rtol():
        raise GatysError(f"full run: initial losses differ ({firsts}): not the same x_0")
    height, width = problem.shape
    return {"runs": runs, "target": target, "evaluations": n, "label": f"{width}x{height}",
            "layout": layout}
