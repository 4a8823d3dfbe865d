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

import concurrent.futures
import importlib.util
import os
import sys
from pathlib import Path

import jax

from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.weights import h5
from lab import host, script

from . import (common, fresh_process, torch_runs, vs_torch_cases, vs_torch_chart, vs_torch_full_run,
               vs_torch_report)

MODULE = "benchmarks.vs_torch"
DEFAULTS = common.defaults()
# the evaluations are timed from white noise in both precisions; the full run is L-BFGS
SKIP = ("iterations", "optimizer", "learning_rate", "init", "dtype", "max_batch", "save_every",
        "max_megapixels")
DTYPES = ("float32", "bfloat16")


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
    fresh_process.add_argument(p)
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


def time_sizes(args, config: StyleConfig, vgg) -> list[tuple[list[common.Case], common.Case]]:
    """(cases, matmul) of every --sizes size, timed, their compiled programs and models freed.
    A PyTorch loss of x_0 further from JAX float32's than this backend's tolerance is a
    warning here (and a line of the report)."""
    loss_rtol = common.loss_rtol()
    timed = []
    for size in args.sizes:
        print(f"timing one evaluation at {size} px ...", flush=True)
        load = os.getloadavg()[0]
        cases, matmul = vs_torch_cases.time_size(config.replace(size=size), args, vgg)
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
    return timed


def measure_memories(cases: list[common.Case], args) -> None:
    """Each case's peak memory into case.extra["memory"]: a fresh process per case,
    --memory-jobs at a time, after all timing."""
    print(f"peak memory: {len(cases)} fresh processes, {args.memory_jobs} at a time ...",
          flush=True)
    with concurrent.futures.ThreadPoolExecutor(args.memory_jobs) as pool:
        memories = pool.map(lambda case: vs_torch_cases.measure_memory(case, args, MODULE),
                            cases)
        for case, memory in zip(cases, memories):
            case.extra["memory"] = memory


def run_full(args, config: StyleConfig, vgg, ratios: list[dict]) -> dict:
    """The full run at --size, PyTorch in the layout that was faster at that size
    (channels_last when that size was not timed)."""
    measured = next((r for r in ratios if r["size"] == config.size), None)
    layout = measured["faster_torch"] if measured else "channels_last"
    print(f"full run: {args.full_evaluations} evaluations at {config.size} px "
          f"(PyTorch {layout}) ...", flush=True)
    return vs_torch_full_run.full_run(args, config, vgg, layout)


def write(out: Path, args, config: StyleConfig, argv, rows: list[dict], ratios: list[dict],
          full: dict | None) -> None:
    """table.md, evals.csv, full_run.csv (with a full run), chart.png and, unless --no-docs,
    the docs; prints the report and what was written."""
    gpu = jax.default_backend() != "cpu"
    body = vs_torch_report.body(rows, ratios, full, args, config.size, gpu)
    header = (f"{host.machine()}; lambda {config.content_weight:g}, {config.pooling} pooling, "
              f"{Path(config.weights).name}, {args.content} + {args.style}, noise seed "
              f"{config.seed}.\n\n`{script.command_line(MODULE, argv)}`")
    report = f"# vs_torch\n\n{header}\n\n{body}\n"
    (out / "table.md").write_text(report)
    common.write_csv(out / "evals.csv", rows)
    written = [out / "table.md", out / "evals.csv", out / "chart.png"]
    if full:
        common.write_csv(out / "full_run.csv", [
            {"run": key, "evaluations": row["evaluations"], "seconds": row["seconds"],
             "total_loss": row["total_loss"]}
            for key, r in full["runs"].items() for row in r["history"]])
        written.append(out / "full_run.csv")
    vs_torch_chart.plot(out / "chart.png", rows, full)
    docs = script.write_docs(args, "Benchmarks: gatys_jax against PyTorch", MODULE,
                             header + "\n\n" + body)
    written += [docs] if docs else []
    print()
    print(report)
    print("wrote " + ", ".join(str(p) for p in written))


def main(argv=None) -> int:
    args, config = parse_args(argv)
    if args.child:
        return fresh_process.answer(args.child, vs_torch_cases.child)
    from . import torch_reference as ref
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        vgg = h5.load(config.weights)
    except (GatysError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ref.set_threads(args.threads)
    print(f"vs_torch: sizes {args.sizes}, {args.repeats} rounds, JAX {args.dtypes}, "
          f"PyTorch on {torch_runs.torch_device()}\n{host.machine()}", flush=True)
    timed = time_sizes(args, config, vgg)
    if not args.no_memory:
        measure_memories([case for cases, _ in timed for case in cases], args)
    rows = [row for cases, matmul in timed for row in vs_torch_report.eval_rows(cases, matmul)]
    ratios = vs_torch_report.ratio_rows(rows)
    full = None
    if args.full_evaluations:
        try:
            full = run_full(args, config, vgg, ratios)
        except GatysError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    write(out, args, config, argv, rows, ratios, full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
