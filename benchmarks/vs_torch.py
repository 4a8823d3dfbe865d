"""Speed against PyTorch: one loss+gradient evaluation, and a full run.

1. One evaluation of the Gatys objective (loss and its gradient with respect to the image; by
   default VGG19 through conv5_1, content at conv4_2, Gram matrices on conv1_1 ... conv5_1) at
   each --sizes long side (--content and --style, by default the samples chelsea and
   starry_night; plain weights; white noise from --seed): JAX in float32 and in bfloat16 (VGG
   in bfloat16, Gram matrices and losses in float32; --dtypes), and PyTorch eager
   (benchmarks/torch_reference.py, on CUDA when available) in NCHW and in channels_last. Every
   case is timed interleaved with the others and with a float32 --matmul-size^3 matmul in JAX
   (the machine's measured float32 peak, default precision): one warm-up call each, then
   --repeats rounds; medians. Compile time (JAX) and the first, warm-up, call (PyTorch) are
   reported apart. Each PyTorch loss of x_0 is compared with JAX float32's against the
   tolerance of the backend's default precision (benchmarks.common.LOSS_RTOL: float32 on a
   CPU, TF32-class convolutions on a GPU); a larger difference is reported, not fatal.
   GFLOP/s from the FLOP model of gatys_jax.engine.costs.evaluation_flops
   (convolutions forward and input gradient, Gram matrices and their gradients). Peak memory:
   each case again in a fresh process (`python -m benchmarks.vs_torch --child`), so that cases
   do not pollute each other: on CPU the peak RSS (getrusage ru_maxrss) and its increase over
   the process after imports, weights and images were loaded; on GPU also the device peak
   (JAX memory_stats()['peak_bytes_in_use'], torch.cuda.max_memory_allocated()).
2. A full run at --size: torch.optim.LBFGS (history --history, lr 1, no line search; the
   faster PyTorch layout at that size) for --full-evaluations evaluations; its final loss is
   the target. The project's L-BFGS in float32 and in bfloat16 (gatys_jax.stylize, same x_0,
   preconditioner exponent --precondition) for as many evaluations: wall time, time to reach
   the target, final loss. Each run's saved image (8-bit: clipped to 0..255 and rounded, as
   stylize writes it) is also evaluated under the float32 objective; clipping the pixels
   the optimizer pushed out of range raises the loss well above the optimizer's own. The
   bfloat16 run's is compared with the float32 run's: bfloat16 is called worth it when it
   is faster and that loss is at most 2% higher.

Writes to --out (default results/vs_torch): table.md, evals.csv (one row per size and
implementation), full_run.csv (loss curves of the full run) and chart.png (ms per
evaluation by size; loss against seconds of the full run); and, unless --no-docs, the same
Markdown with the machine, versions and date to docs/benchmarks.md. Prints the tables.

    python -m benchmarks.vs_torch --sizes 256,512,1024 --repeats 5 --size 512 \\
        --full-evaluations 500
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs
from gatys_jax.errors import GatysError
from gatys_jax.problem import Problem
from gatys_jax.transfer import stylize
from gatys_jax.weights import h5
from lab import experiment, host, script

from . import common

MODULE = "benchmarks.vs_torch"
DEFAULTS = common.defaults()
# the evaluations are timed from white noise in both precisions; the full run is L-BFGS
SKIP = ("iterations", "optimizer", "learning_rate", "init", "dtype", "max_batch", "save_every",
        "max_megapixels")
DTYPES = ("float32", "bfloat16")
LAYOUTS = ("nchw", "channels_last")
BF16_LOSS_TOLERANCE = 0.02


# ---------------------------------------------------------------- one case, one process


def jax_evaluator(problem: Problem, config: StyleConfig):
    """(compiled value_and_grad of the total loss, its arguments, compile seconds); x is the
    noise x_0 of `config`."""
    x = jnp.asarray(problem.x0(config))
    arguments = (x, *experiment.device_arguments(problem, config))
    start = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(problem.objective.total)).lower(*arguments).compile()
    return compiled, arguments, time.perf_counter() - start


def torch_evaluator(vgg, problem: Problem, config: StyleConfig, layout: str):
    """A function that evaluates loss and input gradient once (synchronized); x stays on
    the device between calls, as the JAX case's does."""
    import torch

    from . import torch_reference as ref
    device = common.torch_device()
    objective = common.torch_objective(vgg, problem, config, layout, device)
    x0 = ref.tensor_hwc(objective, problem.x0(config))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run():
        x = x0.detach().requires_grad_(True)
        loss = objective.loss(x)
        (grad,) = torch.autograd.grad(loss, x)
        sync()
        return loss, grad

    return run


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
        run = torch_evaluator(vgg, problem, config, spec["variant"])
        for _ in range(2):
            run()
        if common.torch_device() == "cuda":
            result["device_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    result["rss_peak_mb"] = host.peak_rss_mb()
    return result


def measure_memory(impl: str, variant: str, config: StyleConfig, args) -> dict:
    """Run `child` in a fresh interpreter; {} (and a note on stderr) if it fails."""
    spec = {"impl": impl, "variant": variant, "config": common.config_json(config),
            "content": args.content, "style": args.style, "threads": args.threads}
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    proc = subprocess.run([sys.executable, "-m", MODULE, "--child", json.dumps(spec)],
                          capture_output=True, text=True, env=env, cwd=script.ROOT, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  memory of {impl} {variant} at {config.size} px not measured: {last}",
              file=sys.stderr)
        return {}
    return json.loads(lines[-1])


# ---------------------------------------------------------------- per-evaluation timing


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
        run = torch_evaluator(vgg, problem, config, layout)
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


def eval_rows(cases, matmul) -> list[dict]:
    peak = matmul.extra["flops"] / statistics.median(matmul.times) / 1e9
    f32 = next(c for c in cases if c.extra["variant"] == "float32")
    rows = []
    for case in cases:
        median = statistics.median(case.times)
        rate = case.extra["flops"] / median / 1e9
        memory = case.extra.get("memory", {})
        rows.append({
            "size": case.extra["size"], "height": case.extra["height"],
            "width": case.extra["width"], "implementation": case.impl,
            "median_ms": median * 1e3, "min_ms": min(case.times) * 1e3,
            "setup_s": case.setup_s, "setup_kind": "compile" if case.extra["impl"] == "jax"
            else "warm-up", "gflop": case.extra["flops"] / 1e9, "gflop_per_s": rate,
            "matmul_peak_gflop_per_s": peak, "percent_of_peak": 100 * rate / peak,
            "rss_peak_mb": memory.get("rss_peak_mb"),
            "rss_increase_mb": (memory["rss_peak_mb"] - memory["rss_base_mb"]
                                if memory else None),
            "device_peak_mb": memory.get("device_peak_mb"),
            "loss": case.extra["loss"],
            "loss_rel_to_jax_float32": case.extra["loss"] / f32.extra["loss"] - 1,
            "load_before": case.extra.get("load_before"),
        })
    return rows


def loss_agreement(rows: list[dict], rtol: float) -> str:
    """One line: the largest difference between PyTorch's loss of x_0 and JAX float32's, against
    this backend's tolerance, and the sizes over it."""
    torch_rows = [r for r in rows if r["implementation"].startswith("PyTorch")]
    worst = max(abs(r["loss_rel_to_jax_float32"]) for r in torch_rows)
    over = sorted({r["size"] for r in torch_rows if abs(r["loss_rel_to_jax_float32"]) > rtol})
    verdict = (f"over it at {', '.join(f'{s} px' for s in over)}: the two programs differ by "
               "more than this backend's default precision explains" if over else "within it")
    return (f"Same objective: PyTorch's loss of x_0 is within {worst:.1e} of JAX float32's "
            f"(tolerance {rtol:g} under this backend's default precision); {verdict}.")


def fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def eval_table(rows: list[dict], gpu: bool) -> str:
    memory = "device peak MB" if gpu else "peak RSS MB (+ evaluation)"
    lines = [(f"| size | implementation | median ms | min ms | compile / warm-up s | GFLOP | "
             f"GFLOP/s | % of matmul peak | {memory} | loss vs JAX float32 |"),
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        mem = (fmt(r["device_peak_mb"], ".0f") if gpu else
               f"{fmt(r['rss_peak_mb'], '.0f')} (+{fmt(r['rss_increase_mb'], '.0f')})"
               if r["rss_peak_mb"] is not None else "-")
        lines.append(
            f"| {r['width']}x{r['height']} | {r['implementation']} | {r['median_ms']:.1f} | "
            f"{r['min_ms']:.1f} | {r['setup_s']:.2f} ({r['setup_kind']}) | {r['gflop']:.1f} | "
            f"{r['gflop_per_s']:.0f} | {r['percent_of_peak']:.0f}% | {mem} | "
            f"{r['loss_rel_to_jax_float32']:+.1e} |")
    return "\n".join(lines)


def ratio_rows(rows: list[dict]) -> list[dict]:
    out = []
    for size in dict.fromkeys(r["size"] for r in rows):
        mine = {r["implementation"]: r for r in rows if r["size"] == size}
        f32 = mine["JAX float32"]["median_ms"]
        nchw, last = mine["PyTorch nchw"]["median_ms"], mine["PyTorch channels_last"]["median_ms"]
        bf16 = mine.get("JAX bfloat16")
        out.append({"size": size, "label": f"{mine['JAX float32']['width']}x"
                                           f"{mine['JAX float32']['height']}",
                    "jax_over_nchw": f32 / nchw, "jax_over_channels_last": f32 / last,
                    "jax_over_faster_torch": f32 / min(nchw, last),
                    "faster_torch": "nchw" if nchw <= last else "channels_last",
                    "bf16_over_f32": bf16["median_ms"] / f32 if bf16 else None,
                    "jax_percent_of_peak": mine["JAX float32"]["percent_of_peak"]})
    return out


def ratio_table(ratios: list[dict]) -> str:
    lines = [("| size | JAX / PyTorch NCHW | JAX / PyTorch channels_last | JAX / faster PyTorch "
             "| JAX bfloat16 / float32 |"),
             "| --- | ---: | ---: | ---: | ---: |"]
    for r in ratios:
        lines.append(f"| {r['label']} | {r['jax_over_nchw']:.2f} | "
                     f"{r['jax_over_channels_last']:.2f} | {r['jax_over_faster_torch']:.2f} "
                     f"({r['faster_torch']}) | {fmt(r['bf16_over_f32'], '.2f')} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the full run


def run_jax(content, style, config: StyleConfig, evaluations: int) -> dict:
    """The project's L-BFGS through the public API for exactly `evaluations` evaluations
    (stylize's initial evaluation plus evaluations - 1 steps)."""
    result = stylize(content, style, config.replace(iterations=evaluations - 1))
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
    """torch L-BFGS, then the project's L-BFGS per dtype, from the same x_0."""
    n = args.full_evaluations
    problem = experiment.problem(config, args.content, args.style, vgg)
    x0 = problem.x0(config)
    objective = common.torch_objective(vgg, problem, config, layout)
    runs = {"torch": common.run_torch("lbfgs", objective, x0, n, history=config.history)}
    runs["torch"]["name"] += f", {layout}"
    for dtype in args.dtypes:
        runs[dtype] = run_jax(args.content, args.style, config.replace(dtype=dtype, weights=vgg),
                              n)
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


def full_rows(full: dict) -> list[dict]:
    _, torch_secs = common.first_reaching(full["runs"]["torch"]["history"], full["target"])
    rows = []
    for key, r in full["runs"].items():
        evals, secs = common.first_reaching(r["history"], full["target"])
        rows.append({
            "run": key, "name": r["name"], "evaluations": r["evaluations"],
            "wall_seconds": r["wall_seconds"], "setup_s": r["compile_seconds"],
            "setup_kind": r["compile_kind"], "ms_per_evaluation": 1e3 * r["wall_seconds"] /
            r["evaluations"], "final_loss": r["history"][-1]["total_loss"],
            "float32_loss": r["float32_loss"], "evals_to_target": evals,
            "seconds_to_target": secs,
            "time_to_target_over_torch": secs / torch_secs if secs is not None else None,
        })
    return rows


def full_table(rows: list[dict], full: dict) -> str:
    lines = [("| run | evaluations | wall s | compile / warm-up s | ms per evaluation | final "
             "loss | float32 loss of the saved 8-bit image | evaluations to target | seconds to "
             "target | time to target / PyTorch |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['evaluations']} | {r['wall_seconds']:.1f} | "
            f"{r['setup_s']:.1f} ({r['setup_kind']}) | {r['ms_per_evaluation']:.1f} | "
            f"{r['final_loss']:.6g} | {r['float32_loss']:.6g} | "
            f"{fmt(r['evals_to_target'], 'd', 'not reached')} | "
            f"{fmt(r['seconds_to_target'], '.2f', 'not reached')} | "
            f"{fmt(r['time_to_target_over_torch'], '.2f', '-')} |")
    return "\n".join(lines)


def bf16_verdict(rows: list[dict], ratios: list[dict], size: int) -> str | None:
    """Whether bfloat16 pays here: faster per evaluation (the interleaved measurement at the
    full-run size when there is one, else the full run's average) and a final image whose
    float32 loss is at most BF16_LOSS_TOLERANCE above the float32 run's."""
    by_run = {r["run"]: r for r in rows}
    if "bfloat16" not in by_run or "float32" not in by_run:
        return None
    f32, bf16 = by_run["float32"], by_run["bfloat16"]
    full_speed = bf16["ms_per_evaluation"] / f32["ms_per_evaluation"]
    measured = next((r for r in ratios if r["size"] == size and r["bf16_over_f32"]), None)
    speed = measured["bf16_over_f32"] if measured else full_speed
    loss = bf16["float32_loss"] / f32["float32_loss"] - 1
    per_eval = ", ".join(f"{r['label']} {r['bf16_over_f32']:.2f}" for r in ratios
                         if r["bf16_over_f32"] is not None)
    worth = speed < 1 and loss <= BF16_LOSS_TOLERANCE
    return (f"bfloat16 (VGG in bfloat16, Gram matrices and losses in float32): time per "
            f"evaluation / float32's: {per_eval} (one evaluation, interleaved), "
            f"{full_speed:.2f} (full run); the saved image's float32 loss {loss:+.2%} against "
            f"the float32 run's (tolerance +{BF16_LOSS_TOLERANCE:.0%}): "
            + ("worth it here." if worth else "not worth it here."))


# ---------------------------------------------------------------- outputs


def plot(path: Path, rows: list[dict], full: dict | None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2 if full else 1, figsize=(13 if full else 7, 5), squeeze=False)
    ax = axes[0, 0]
    impls = list(dict.fromkeys(r["implementation"] for r in rows))
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        values = [next(r["median_ms"] for r in rows if r["size"] == s and
                       r["implementation"] == impl) for s in sizes]
        bars = ax.bar(np.arange(len(sizes)) + (i - (len(impls) - 1) / 2) * width, values,
                      width, label=impl)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    labels = [next(f"{r['width']}x{r['height']}" for r in rows if r["size"] == s) for s in sizes]
    ax.set_xticks(np.arange(len(sizes)), labels)
    ax.set_yscale("log")
    ax.set_ylabel("ms per loss + gradient evaluation (median)")
    ax.set_title("one evaluation of the Gatys objective", fontsize=10)
    ax.legend(fontsize=8)
    if full:
        ax = axes[0, 1]
        for r in full["runs"].values():
            h = r["history"]
            ax.plot([row["seconds"] for row in h], [row["total_loss"] for row in h],
                    label=r["name"], lw=1.5)
        ax.axhline(full["target"], color="gray", ls="--", lw=1,
                   label=f"PyTorch's {full['evaluations']}-evaluation loss")
        ax.set_yscale("log")
        ax.set_xlabel("wall seconds (compile apart)")
        ax.set_ylabel("total loss")
        ax.set_title(f"L-BFGS, {full['label']} px, {full['evaluations']} evaluations",
                     fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def goals(ratios: list[dict], full_rows_: list[dict] | None, size: int) -> list[str]:
    """The project's speed goals, reported (not asserted) at the full-run size or the
    largest one."""
    at = next((r for r in ratios if r["size"] == size), ratios[-1])
    lines = [(f"- one evaluation at {at['label']}: JAX float32 / faster PyTorch layout = "
             f"{at['jax_over_faster_torch']:.2f} (goal <= 0.85), "
             f"{at['jax_percent_of_peak']:.0f}% of matmul peak (goal >= 85%)")]
    if full_rows_:
        f32 = next((r for r in full_rows_ if r["run"] == "float32"), None)
        if f32 is not None:
            lines.append(f"- time to PyTorch L-BFGS's final loss: JAX / PyTorch = "
                         f"{fmt(f32['time_to_target_over_torch'], '.2f', 'not reached')} "
                         "(goal <= 0.5)")
    return lines


def parse_args(argv=None):
    p = script.parser(__doc__, DEFAULTS, SKIP)
    p.add_argument("--sizes", default="256,512,1024",
                   help="long sides for one evaluation (default 256,512,1024)")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed rounds per size after one warm-up (default 5)")
    p.add_argument("--dtypes", default="float32,bfloat16",
                   help="JAX VGG precisions to time (default float32,bfloat16)")
    p.add_argument("--full-evaluations", type=int, default=500,
                   help="evaluations of the full run at --size, 0 to skip it (default 500)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--matmul-size", type=int, default=common.MATMUL_N,
                   help=f"n of the n^3 matmul that measures the peak (default {common.MATMUL_N})")
    p.add_argument("--no-memory", action="store_true",
                   help="skip the peak-memory measurement (one fresh process per case)")
    p.add_argument("--memory-jobs", type=int, default=2,
                   help="memory processes run at a time, after all timing (default 2)")
    p.add_argument("--out", default=str(common.RESULTS / "vs_torch"),
                   help="output folder (default results/vs_torch)")
    script.add_docs_arguments(p, script.ROOT / "docs" / "benchmarks.md")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args, config = script.parse(p, argv, DEFAULTS)
    if args.child:
        return args, config
    try:
        sizes = list(dict.fromkeys(int(s) for s in args.sizes.split(",") if s.strip()))
        args.sizes = [config.replace(size=size).size for size in sizes]
    except ValueError:
        p.error(f"--sizes {args.sizes!r}: expected comma-separated integers, e.g. 256,512")
    except GatysError:
        p.error("--sizes: every size must be at least 16 px (VGG19's minimum)")
    if not args.sizes:
        p.error("--sizes: give at least one size")
    args.dtypes = list(dict.fromkeys(d.strip() for d in args.dtypes.split(",") if d.strip()))
    if any(d not in DTYPES for d in args.dtypes) or "float32" not in args.dtypes:
        p.error(f"--dtypes must list float32 and optionally bfloat16, got {args.dtypes}")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    if args.full_evaluations < 0 or args.full_evaluations == 1:
        p.error("--full-evaluations must be 0 (skip) or at least 2")
    if args.memory_jobs < 1:
        p.error("--memory-jobs must be at least 1")
    if args.matmul_size < 1:
        p.error("--matmul-size must be positive")
    if importlib.util.find_spec("torch") is None:
        p.error("torch is not installed: pip install -e '.[torch]'")
    return args, config


def main(argv=None) -> int:
    args, config = parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    from . import torch_reference as ref
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        vgg = h5.load(config.weights)
    except (GatysError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ref.set_threads(args.threads)
    gpu = jax.default_backend() != "cpu"
    loss_rtol = common.loss_rtol()
    command = script.command_line(MODULE, argv)
    print(f"vs_torch: sizes {args.sizes}, {args.repeats} rounds, JAX {args.dtypes}, "
          f"PyTorch on {common.torch_device()}\n{host.machine()}", flush=True)

    timed = []
    for size in args.sizes:
        print(f"timing one evaluation at {size} px ...", flush=True)
        load = os.getloadavg()[0]
        cases, matmul = time_size(config.replace(size=size), args, vgg)
        f32 = next(c for c in cases if c.extra["variant"] == "float32").extra["loss"]
        for case in cases:
            case.run = None  # free the compiled programs and models
            case.extra["load_before"] = load
            rel = case.extra["loss"] / f32 - 1
            if case.extra["impl"] == "torch" and abs(rel) > loss_rtol:
                print(f"warning: at {size} px {case.impl}'s loss differs from JAX float32's by "
                      f"{rel:.1e} (> {loss_rtol:g}, this backend's tolerance): reported in the "
                      "table", file=sys.stderr)
        timed.append((cases, matmul))
    if not args.no_memory:
        all_cases = [case for cases, _ in timed for case in cases]
        print(f"peak memory: {len(all_cases)} fresh processes, {args.memory_jobs} at a time ...",
              flush=True)
        with concurrent.futures.ThreadPoolExecutor(args.memory_jobs) as pool:
            memories = pool.map(lambda c: measure_memory(c.extra["impl"], c.extra["variant"],
                                                         c.extra["config"], args), all_cases)
            for case, memory in zip(all_cases, memories):
                case.extra["memory"] = memory
    rows = [row for cases, matmul in timed for row in eval_rows(cases, matmul)]
    ratios = ratio_rows(rows)

    full, f_rows = None, None
    if args.full_evaluations:
        measured = next((r for r in ratios if r["size"] == config.size), None)
        layout = measured["faster_torch"] if measured else "channels_last"
        print(f"full run: {args.full_evaluations} evaluations at {config.size} px "
              f"(PyTorch {layout}) ...", flush=True)
        try:
            full = full_run(args, config, vgg, layout)
        except GatysError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        f_rows = full_rows(full)

    sections = [
        (f"## One loss + gradient evaluation ({args.repeats} interleaved rounds after a "
        "warm-up; medians)"), "",
        f"Matmul peak (JAX float32 {args.matmul_size}^3, measured with each size): "
        + ", ".join(f"{r['matmul_peak_gflop_per_s']:.0f}" for r in rows
                    if r["implementation"] == "JAX float32") + " GFLOP/s; load average "
        + ", ".join(f"{r['load_before']:.1f}" for r in rows
                    if r["implementation"] == "JAX float32")
        + " before each size (above ~0.5 other processes skew absolute times). "
        + ("Memory: not measured (--no-memory)." if args.no_memory else
           "Memory: device peak of a fresh process per case." if gpu else
           "Memory: peak RSS of a fresh process per case, and its increase over that process "
           "after imports, weights and images."), "",
        eval_table(rows, gpu), "", loss_agreement(rows, loss_rtol), "", ratio_table(ratios),
        "",
        "(ratios < 1: JAX is faster)", "",
        "Peak memory of whole runs by size, against the memory plan: [memory.md](memory.md) "
        "(`python -m benchmarks.memory`).",
    ]
    if full:
        sections += ["", (f"## Full run: L-BFGS, {full['label']} px, {full['evaluations']} "
                         "evaluations"), "",
                     (f"Target: PyTorch's loss after {full['evaluations']} evaluations, "
                     f"{full['target']:.6g}."), "", full_table(f_rows, full)]
        verdict = bf16_verdict(f_rows, ratios, config.size)
        if verdict:
            sections += ["", verdict]
    sections += ["", "## Goals (reported, not asserted)", "",
                 *goals(ratios, f_rows, config.size)]
    body = "\n".join(sections)
    header = (f"{host.machine()}; lambda {config.content_weight:g}, {config.pooling} pooling, "
              f"{Path(config.weights).name}, {args.content} + {args.style}, noise seed "
              f"{config.seed}.\n\n`{command}`")
    report = f"# vs_torch\n\n{header}\n\n{body}\n"
    (out / "table.md").write_text(report)
    common.write_csv(out / "evals.csv", rows)
    if full:
        common.write_csv(out / "full_run.csv", [
            {"run": key, "evaluations": row["evaluations"], "seconds": row["seconds"],
             "total_loss": row["total_loss"]}
            for key, r in full["runs"].items() for row in r["history"]])
    plot(out / "chart.png", rows, full)
    written = [out / "table.md", out / "evals.csv", out / "chart.png"] + \
        ([out / "full_run.csv"] if full else [])
    docs = script.write_docs(args, "Benchmarks: gatys_jax against PyTorch", MODULE,
                             header + "\n\n" + body)
    written += [docs] if docs else []
    print()
    print(report)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
