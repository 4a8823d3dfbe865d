"""Peak memory of whole runs by image size, against the memory plan.

For each --sizes long side, in a fresh process (`python -m benchmarks.memory --child`) so that
sizes do not pollute each other: gatys_jax.stylize of --content in the style of --style at
that size, one scale (the start size is the size: the peak is the full-size program's) and
--iterations iterations; the plan it made (its metrics' memory_plan: the per-image estimate,
whether the VGG blocks are recomputed in the backward pass, the L-BFGS history it kept; and
the memory free before it), and the process's peak RSS (on a GPU also the device's peak,
memory_stats()['peak_bytes_in_use']). Beside them, XLA's own accounting of the compiled step
program (its state arguments and temporaries, driver.program_bytes) and any warning XLA printed
while compiling it (e.g. that rematerialization could not bring its estimate under the device's
memory). Default sizes: 1024 and 2048 px on a CPU, 2048 and 4096 px on an accelerator.

Writes --out (default results/memory)/memory.csv and, unless --no-docs, docs/memory.md.

    python -m benchmarks.memory --sizes 1024,2048
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import jax

import gatys_jax
from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs
from lab import host, script

from . import common, fresh_process

MODULE = "benchmarks.memory"
DEFAULTS = common.defaults(iterations=2)
SKIP = ("size", "start_size", "save_every", "max_batch")
SIZES = {"cpu": (1024, 2048), "accelerator": (2048, 4096)}
# a warning or error logged by XLA's C++: "[date time: ]W... file.cc:N] text"
XLA_LOG_LINE = re.compile(r"^(?:\S+ \S+: )?[WE]\S*\s.*?\.cc:\d+\] (.*)$", re.MULTILINE)


def parse_args(argv=None):
    p = script.parser(__doc__, DEFAULTS, SKIP)
    p.add_argument("--sizes", default=None,
                   help="comma-separated long sides in px (default "
                        f"{','.join(map(str, SIZES['cpu']))} on a CPU, "
                        f"{','.join(map(str, SIZES['accelerator']))} on an accelerator)")
    p.add_argument("--out", default=str(common.RESULTS / "memory"),
                   help="output folder (default results/memory)")
    fresh_process.add_argument(p)
    script.add_docs_arguments(p, script.ROOT / "docs" / "memory.md")
    args, config = script.parse(p, argv, DEFAULTS)
    try:
        args.sizes = (tuple(int(s) for s in args.sizes.split(",")) if args.sizes else
                      SIZES["cpu" if jax.default_backend() == "cpu" else "accelerator"])
    except ValueError:
        p.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if min(args.sizes) < 1:
        p.error("--sizes must be positive")
    return args, config


def child(spec: dict) -> dict:
    """The plan the run made and its measured peaks, in this fresh process."""
    config = StyleConfig(**spec["config"])
    base = host.proc_status_mb("VmRSS") or host.peak_rss_mb()
    available = costs.available_bytes()
    start = time.perf_counter()
    result = gatys_jax.stylize(spec["content"], spec["style"], config)
    planned = result.facts["memory_plan"]
    height, width = result.size
    out = {"size": config.size, "height": height, "width": width,
           "planned_mb": sum(planned["per_image"].values()) / 2**20,
           "planned_activations_mb": planned["per_image"]["activations"] / 2**20,
           "planned_solver_mb": planned["per_image"]["solver"] / 2**20,
           "available_mb": available / 2**20, "recomputed_blocks": planned["remat"],
           "history": result.images[0].config.history, "notes": planned["notes"],
           "evaluations": result.images[0].evaluations, "compile_s": result.compile_seconds,
           "run_s": result.wall_seconds, "seconds_with_setup": time.perf_counter() - start,
           "rss_base_mb": base, "rss_peak_mb": host.peak_rss_mb(), "device_peak_mb": None,
           "step_program": planned["step_program"]}
    device = jax.devices()[0]
    if device.platform != "cpu":
        stats = device.memory_stats() or {}
        out["device_peak_mb"] = stats.get("peak_bytes_in_use", float("nan")) / 2**20
    return out


def measure(size: int, config: StyleConfig, args) -> dict:
    """`child` at `size` in a fresh interpreter; {"size", "error"} if it fails."""
    spec = {"config": fresh_process.config_json(config.replace(size=size, start_size=size)),
            "content": args.content, "style": args.style}
    answer = fresh_process.run(MODULE, spec)
    if answer.result is None:
        return {"size": size, "error": answer.error}
    return {**answer.result, "xla_warnings": xla_warnings(answer.stderr)}


def xla_warnings(stderr: str) -> list[str]:
    """XLA's log lines about memory in a child's stderr (`W... file.cc:N] text`): the texts."""
    return [match.group(1) for match in XLA_LOG_LINE.finditer(stderr)
            if re.search(r"rematerializ|memory", match.group(1), re.IGNORECASE)]


def table(rows: list[dict], gpu: bool) -> str:
    lines = ["| size | plan: per image (activations + optimizer) | VGG blocks recomputed | "
             "L-BFGS history | free when planned | peak RSS (run's increase) | device peak | "
             "measured / plan | XLA's step program: state + temporaries | evaluations | "
             "compile s | run s |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['size']} px | failed: {r['error'].replace('|', '/')} |"
                         + " |" * 10)
            continue
        increase = r["rss_peak_mb"] - r["rss_base_mb"]
        measured = r["device_peak_mb"] if gpu else increase
        lines.append(
            f"| {r['width']}x{r['height']} | {mib(r['planned_mb'])} "
            f"({mib(r['planned_activations_mb'])} + {mib(r['planned_solver_mb'])}) | "
            f"{'yes' if r['recomputed_blocks'] else 'no'} | {r['history']} | "
            f"{mib(r['available_mb'])} | {mib(r['rss_peak_mb'])} ({mib(increase)}) | "
            f"{mib(r['device_peak_mb']) if r['device_peak_mb'] is not None else '-'} | "
            f"{measured / r['planned_mb']:.2f} | {program(r['step_program'])} | "
            f"{r['evaluations']} | {r['compile_s']:.0f} | "
            f"{r['run_s']:.0f} |")
    return "\n".join(lines)


def program(step: dict | None) -> str:
    if step is None:
        return "-"
    return (f"{costs.human_bytes(step['arguments'])} + "
            f"{costs.human_bytes(step['temporaries'])}")


def warnings_section(rows: list[dict]) -> list[str]:
    """XLA's memory warnings per size, or a line saying there were none."""
    lines = [f"- {r['size']} px: {w}" for r in rows for w in r.get("xla_warnings", [])]
    return ["XLA's memory warnings while compiling:", "", *lines] if lines else [
        "XLA printed no memory warning while compiling."]


def mib(megabytes: float) -> str:
    return costs.human_bytes(megabytes * 2**20)


def main(argv=None) -> int:
    args, config = parse_args(argv)
    if args.child:
        return fresh_process.answer(args.child, child)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gpu = jax.default_backend() != "cpu"
    print(f"memory: sizes {args.sizes}, {config.iterations} iterations each\n{host.machine()}",
          flush=True)
    rows = []
    for size in args.sizes:
        rows.append(measure(size, config, args))
        print(f"  {size} px: {rows[-1]}", flush=True)
    common.write_csv(out / "memory.csv", rows)
    report = "\n".join([
        f"## Peak memory by size ({config.iterations} iterations at full size)", "",
        host.machine() + ".", "",
        f"{args.content} + {args.style}; the library's defaults otherwise. Peak RSS is the whole "
        "process's (Python, JAX, weights, images, compiled programs); the run's increase is "
        "over the process after its imports. Measured / plan compares "
        f"{'the device peak' if gpu else 'that increase'} with the plan's per-image estimate, "
        f"which the run must fit in {costs.MEMORY_FRACTION:.0%} of the free memory.", "",
        table(rows, gpu), "", *warnings_section(rows)])
    print("\n" + report)
    command = script.command_line(MODULE, argv)
    script.write_docs(args, "Memory: whole runs against the plan", MODULE,
                      f"`{command}`\n\n{report}")
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
