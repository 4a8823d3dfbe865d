"""vs_torch's cases: one loss + gradient evaluation of the Gatys objective at one size, compiled
JAX per dtype and eager PyTorch per layout, timed interleaved with the matmul that measures the
peak; and the peak memory of each case, measured alone in a fresh process.
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp

from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs
from gatys_jax.problem import Problem
from gatys_jax.weights import h5
from lab import experiment, host

from . import common, fresh_process, torch_runs

LAYOUTS = ("nchw", "channels_last")


def jax_evaluator(problem: Problem, config: StyleConfig):
    """(compiled value_and_grad of the total loss, its arguments, compile seconds); x is the
    noise x_0 of `config`."""
    x = jnp.asarray(problem.x0(config))
    arguments = (x, *experiment.device_arguments(problem, config))
    start = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(problem.objective.total)).lower(*arguments).compile()
    return compiled, arguments, time.perf_counter() - start


def time_size(config: StyleConfig, args, vgg) -> tuple[list[common.Case], common.Case]:
    """Cases (JAX per dtype, PyTorch per layout) at config.size and the matmul, timed
    interleaved."""
    cases = []
    problems = {dtype: experiment.problem(config.replace(dtype=dtype), args.content, args.style, vgg)
                for dtype in args.dtypes}
    for dtype, problem in problems.items():
        compiled, arguments, seconds = jax_evaluator(problem, config)
        total, _ = compiled(*arguments)
        cases.append(common.Case(
            f"JAX {dtype}", "loss + gradient",
            lambda c=compiled, a=arguments: jax.block_until_ready(c(*a)), seconds,
            extra={"impl": "jax", "variant": dtype, "loss": float(total)}))
    problem = problems["float32"]
    for layout in LAYOUTS:
        run = torch_runs.torch_evaluator(vgg, problem, config, layout)
        start = time.perf_counter()
        loss, _ = run()
        cases.append(common.Case(
            f"PyTorch {layout}", "loss + gradient", run, time.perf_counter() - start,
            extra={"impl": "torch", "variant": layout, "loss": float(loss.detach())}))
    height, width = problem.shape
    flops = costs.evaluation_flops(problem.objective, height, width)
    for case in cases:
        case.extra.update(size=config.size, height=height, width=width, flops=flops,
                          config=config)
    matmul = common.matmul_case(args.matmul_size)
    common.time_round_robin(cases + [matmul], args.repeats)
    return cases, matmul


def child(spec: dict) -> dict:
    """Memory of one case in this fresh process: load the weights and images, then (peak
    RSS reset where Linux allows) build the model, compile and evaluate twice."""
    config = StyleConfig(**spec["config"])
    vgg = h5.load(config.weights)
    if spec["impl"] == "jax":
        config = config.replace(dtype=spec["variant"])
    problem = experiment.problem(config, spec["content"], spec["style"], vgg)
    reset = host.reset_peak_rss()
    base = host.proc_status_mb("VmRSS") if reset else host.peak_rss_mb()
    result = {"rss_base_mb": base, "peak_reset": reset}
    if spec["impl"] == "jax":
        compiled, arguments, _ = jax_evaluator(problem, config)
        for _ in range(2):
            jax.block_until_ready(compiled(*arguments))
        device = jax.devices()[0]
        if device.platform != "cpu":
            stats = device.memory_stats() or {}
            result["device_peak_mb"] = stats.get("peak_bytes_in_use", float("nan")) / 2**20
    else:
        import torch

        from . import torch_reference as ref
        ref.set_threads(spec["threads"])
        run = torch_runs.torch_evaluator(vgg, problem, config, spec["variant"])
        for _ in range(2):
            run()
        if torch_runs.torch_device() == "cuda":
            result["device_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    result["rss_peak_mb"] = host.peak_rss_mb()
    return result


def measure_memory(case: common.Case, args, module: str) -> dict:
    """`child` of `case` in a fresh `python -m module --child`; {} (and a note on stderr) if
    it fails."""
    impl, variant, config = case.extra["impl"], case.extra["variant"], case.extra["config"]
    spec = {"impl": impl, "variant": variant, "config": fresh_process.config_json(config),
            "content": args.content, "style": args.style, "threads": args.threads}
    answer = fresh_process.run(module, spec)
    if answer.result is None:
        print(f"  memory of {impl} {variant} at {config.size} px not measured: {answer.error}",
              file=sys.stderr)
        return {}
    return answer.result
