"""vs_torch's report: the rows of its CSVs from the measured cases and runs, its Markdown tables,
the loss agreement, the bfloat16 verdict and the speed goals.
"""

from __future__ import annotations

import statistics

from . import common
from .common import fmt

BF16_LOSS_TOLERANCE = 0.02


# ---------------------------------------------------------------- one evaluation


def eval_rows(cases, matmul) -> list[dict]:
    """One row per case of one size: times, GFLOP/s against the matmul peak, memory, loss."""
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


def eval_table(rows: list[dict], gpu: bool) -> str:
    memory = "device peak MB" if gpu else "peak RSS MB (+ evaluation)"
    columns = ["size", "implementation", "median ms", "min ms", "compile / warm-up s", "GFLOP",
               "GFLOP/s", "% of matmul peak", memory, "loss vs JAX float32"]
    cells = []
    for r in rows:
        mem = (fmt(r["device_peak_mb"], ".0f") if gpu else
               f"{fmt(r['rss_peak_mb'], '.0f')} (+{fmt(r['rss_increase_mb'], '.0f')})"
               if r["rss_peak_mb"] is not None else "-")
        cells.append([f"{r['width']}x{r['height']}", r["implementation"],
                      f"{r['median_ms']:.1f}", f"{r['min_ms']:.1f}",
                      f"{r['setup_s']:.2f} ({r['setup_kind']})", f"{r['gflop']:.1f}",
                      f"{r['gflop_per_s']:.0f}", f"{r['percent_of_peak']:.0f}%", mem,
                      f"{r['loss_rel_to_jax_float32']:+.1e}"])
    return common.markdown_table(columns, "llrrrrrrrr", cells)


def ratio_rows(rows: list[dict]) -> list[dict]:
    """Per size: JAX float32's time over each PyTorch layout's and bfloat16's over float32's."""
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
    columns = ["size", "JAX / PyTorch NCHW", "JAX / PyTorch channels_last",
               "JAX / faster PyTorch", "JAX bfloat16 / float32"]
    return common.markdown_table(columns, "lrrrr", (
        [r["label"], f"{r['jax_over_nchw']:.2f}", f"{r['jax_over_channels_last']:.2f}",
         f"{r['jax_over_faster_torch']:.2f} ({r['faster_torch']})",
         fmt(r["bf16_over_f32"], ".2f")] for r in ratios))


# ---------------------------------------------------------------- the full run


def full_rows(full: dict) -> list[dict]:
    """One row per run of the full run: times, losses and the time to PyTorch's final loss."""
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


def full_table(rows: list[dict]) -> str:
    columns = ["run", "evaluations", "wall s", "compile / warm-up s", "ms per evaluation",
               "final loss", "float32 loss of the saved 8-bit image", "evaluations to target",
               "seconds to target", "time to target / PyTorch"]
    return common.markdown_table(columns, "lrrrrrrrrr", (
        [r["name"], f"{r['evaluations']}", f"{r['wall_seconds']:.1f}",
         f"{r['setup_s']:.1f} ({r['setup_kind']})", f"{r['ms_per_evaluation']:.1f}",
         f"{r['final_loss']:.6g}", f"{r['float32_loss']:.6g}",
         fmt(r["evals_to_target"], "d", "not reached"),
         fmt(r["seconds_to_target"], ".2f", "not reached"),
         fmt(r["time_to_target_over_torch"], ".2f", "-")] for r in rows))


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


# ---------------------------------------------------------------- the report


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


def eval_section(rows: list[dict], ratios: list[dict], args, gpu: bool) -> list[str]:
    """The report's lines on one evaluation: the peak, load and memory measured, the tables."""
    f32 = [r for r in rows if r["implementation"] == "JAX float32"]
    peaks = ", ".join(f"{r['matmul_peak_gflop_per_s']:.0f}" for r in f32)
    loads = ", ".join(f"{r['load_before']:.1f}" for r in f32)
    memory = ("Memory: not measured (--no-memory)." if args.no_memory else
              "Memory: device peak of a fresh process per case." if gpu else
              "Memory: peak RSS of a fresh process per case, and its increase over that "
              "process after imports, weights and images.")
    return [
        (f"## One loss + gradient evaluation ({args.repeats} interleaved rounds after a "
         "warm-up; medians)"), "",
        f"Matmul peak (JAX float32 {args.matmul_size}^3, measured with each size): {peaks} "
        f"GFLOP/s; load average {loads} before each size (above ~0.5 other processes skew "
        f"absolute times). {memory}", "",
        eval_table(rows, gpu), "", loss_agreement(rows, common.loss_rtol()), "",
        ratio_table(ratios), "", "(ratios < 1: JAX is faster)", "",
        "Peak memory of whole runs by size, against the memory plan: [memory.md](memory.md) "
        "(`python -m benchmarks.memory`).",
    ]


def full_section(full: dict, rows: list[dict], ratios: list[dict], size: int) -> list[str]:
    """The report's lines on the full run: the target, the table and the bfloat16 verdict."""
    lines = ["", f"## Full run: L-BFGS, {full['label']} px, {full['evaluations']} evaluations",
             "", f"Target: PyTorch's loss after {full['evaluations']} evaluations, "
             f"{full['target']:.6g}.", "", full_table(rows)]
    verdict = bf16_verdict(rows, ratios, size)
    return lines + (["", verdict] if verdict else [])


def body(rows: list[dict], ratios: list[dict], full: dict | None, args, size: int,
         gpu: bool) -> str:
    """The report under its header: one evaluation, the full run (if any), the goals."""
    f_rows = full_rows(full) if full else None
    lines = eval_section(rows, ratios, args, gpu)
    if full:
        lines += full_section(full, f_rows, ratios, size)
    lines += ["", "## Goals (reported, not asserted)", "", *goals(ratios, f_rows, size)]
    return "\n".join(lines)
