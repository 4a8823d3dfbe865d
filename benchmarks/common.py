"""What the benchmarks share: their arguments (a StyleConfig on the plain weights, the content and
style images), the machine, the problem as the library sets it up, interleaved timing,
loss-curve look-ups, the report they copy into docs/, and one run of an optimizer in PyTorch
(benchmarks.torch_reference).

The benchmarks use the plain (un-normalized) weights by default: that is the network PyTorch
ports of the method use, so their losses compare with PyTorch's as they are.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import os
import platform
import resource
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax import cli, inputs, paths
from gatys_jax.config import StyleConfig
from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.objective import Objective, Problem, build_problem, config_weights
from gatys_jax.solvers import DEFAULT_LEARNING_RATE

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
CONTENT, STYLE = "chelsea", "starry_night"  # sample images (gatys-jax samples)
MATMUL_N = 4096
# How closely two float32 programs of one objective (JAX and PyTorch, or two optimizers' x_0)
# can agree on a loss under each backend's default matmul precision: full float32 on CPU;
# TF32-class convolutions (10 mantissa bits) on GPUs and bf16 passes on TPUs.
LOSS_RTOL = {"cpu": 1e-4, "gpu": 2e-3, "tpu": 2e-3}


# ---------------------------------------------------------------- arguments


def defaults(**changes) -> StyleConfig:
    """A benchmark's default settings: the plain weights and the benchmark's own `changes`."""
    return StyleConfig(weights=paths.plain_weights(), **changes)


def parser(doc: str, defaults: StyleConfig, skip: Sequence[str], images: bool = True
           ) -> argparse.ArgumentParser:
    """A benchmark's parser: the first paragraph of its docstring as the description,
    --content and --style (unless not `images`: a file or a sample name each), and the flags
    of the StyleConfig fields not in `skip`, with `defaults` shown."""
    p = cli.Parser(description=doc.split("\n\n")[0],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if images:
        p.add_argument("--content", default=CONTENT,
                       help=f"content image: a file or a sample name (default {CONTENT})")
        p.add_argument("--style", default=STYLE,
                       help=f"style image: a file or a sample name (default {STYLE})")
    cli.add_config_arguments(p, defaults, skip)
    return p


def parse(p: argparse.ArgumentParser, argv, defaults: StyleConfig
          ) -> tuple[argparse.Namespace, StyleConfig]:
    """The flags and the StyleConfig they make of `defaults`. A bad setting, a missing image
    (--content, --style) or weight file is a one-line parser error, before any work."""
    args = p.parse_args(argv)
    try:
        config, content_weights = cli.config_from_args(args, defaults)
    except ConfigError as e:
        p.error(f"{cli.flag(e.field)} {e.problem}")
    if content_weights:
        p.error("--content-weight takes one value here")
    for name in ("content", "style"):
        try:
            if hasattr(args, name):
                inputs.shape_of(getattr(args, name), config.max_megapixels)
        except GatysError as e:
            p.error(f"--{name}: {e}")
    if isinstance(config.weights, (str, Path)) and not Path(config.weights).is_file():
        p.error(f"--weights {config.weights}: no such file")
    return args, config


def add_docs_arguments(parser: argparse.ArgumentParser, default: Path) -> None:
    """--docs PATH (default `default`) and --no-docs: where a benchmark copies its report."""
    parser.add_argument("--docs", default=str(default),
                        help=f"Markdown report for the docs (default {default.relative_to(ROOT)})")
    parser.add_argument("--no-docs", action="store_true", help="do not write --docs")


def command_line(module: str, argv) -> str:
    """How a benchmark was run, for its report: `python -m MODULE ARGS`."""
    return f"python -m {module} " + shlex.join(argv if argv is not None else sys.argv[1:])


def write_docs(args, title: str, module: str, body: str) -> Path | None:
    """Write `body` under `title` to args.docs (unless args.no_docs), saying which module wrote
    it; returns the path written."""
    if args.no_docs:
        return None
    docs = Path(args.docs)
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(f"# {title}\n\nWritten by `python -m {module}` (the latest run; see its "
                    f"docstring for what is measured and how).\n\n{body}\n")
    return docs


def write_csv(path: Path, rows: list[dict], fields: list[str] | None = None,
              append: bool = False) -> None:
    """Rows as CSV (None as an empty cell); `append` adds rows below an existing header."""
    fields = fields or list(rows[0])
    with open(path, "a" if append else "w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        if not append:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})


# ---------------------------------------------------------------- the machine


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> str:
    """The CPU, its cores and the accelerator JAX computes on, if any."""
    device = jax.devices()[0]
    accel = "" if device.platform == "cpu" else f", {device.device_kind} ({device.platform})"
    return f"{cpu_name()}, {cores()} cores{accel}"


def machine() -> str:
    """One line: date, host, hardware, JAX and (if importable) torch versions."""
    try:
        import torch
        torch_text = f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_text = ""
    return (f"{datetime.datetime.now().isoformat(timespec='seconds')}, {platform.node()}, "
            f"{hardware()}; jax {jax.__version__} ({jax.default_backend()}){torch_text}")


# ---------------------------------------------------------------- the problem


def proc_status_mb(field: str) -> float | None:
    """VmRSS / VmHWM of this process from /proc/self/status, in MiB (None elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    hwm = proc_status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def config_json(config: StyleConfig) -> dict:
    """The settings as JSON, to hand them to a fresh process (StyleConfig(**them))."""
    return {k: v for k, v in config.to_json().items() if k != "layer_weights"}


def save_jpeg(image: np.ndarray, path: Path, max_bytes: int) -> int:
    """Save a uint8 RGB image as JPEG at the highest quality (90 down to 50) whose file is at
    most `max_bytes`; returns the quality used. A figure that does not fit even at 50 is a
    GatysError: make it smaller."""
    from PIL import Image
    for quality in (90, 85, 80, 70, 60, 50):
        Image.fromarray(image).save(path, format="JPEG", quality=quality, optimize=True)
        if path.stat().st_size <= max_bytes:
            return quality
    path.unlink()
    raise GatysError(f"{path} is over {max_bytes} bytes even at JPEG quality 50")


def loss_rtol() -> float:
    """LOSS_RTOL of the backend JAX runs on (the loosest for one not listed)."""
    return LOSS_RTOL.get(jax.default_backend(), max(LOSS_RTOL.values()))


def problem(config: StyleConfig, content, style, vgg) -> Problem:
    """The objective of `config` with its targets, from the content and style images prepared
    as stylize prepares them."""
    content_rgb, styles = inputs.prepare(content, [style], config.size, config.max_megapixels)
    return build_problem(Objective.from_config(config), vgg, content_rgb, styles)


def device_arguments(problem: Problem, config: StyleConfig) -> tuple:
    """(params, targets, loss weights) of the problem's style on the default device: the
    arguments of the objective and of gatys_jax.driver's compiled steps."""
    return (jax.device_put(problem.vgg.params), jax.device_put(problem.targets[0]),
            config_weights(config))


def completed(result):
    """A stylize Result, or exit with 128 + the signal when one cut its run short: a benchmark
    stopped by Ctrl-C or SIGTERM ends there, and never keeps or reports a cut-short run."""
    if result.interrupted:
        raise SystemExit(128 + result.interrupted)
    return result


# ---------------------------------------------------------------- loss curves


def first_reaching(history: list, target: float):
    """(evaluations, seconds) of the first row with total_loss <= target, or (None, None)."""
    for row in history:
        if row["total_loss"] <= target:
            return row["evaluations"], row["seconds"]
    return None, None


def loss_at(history: list, evaluations: float, key: str = "evaluations"):
    """Loss of the last row with at most `evaluations` evaluations (or, with key="seconds",
    at most that many seconds); None before the first row."""
    best = None
    for row in history:
        if row[key] <= evaluations:
            best = row["total_loss"]
    return best


# ---------------------------------------------------------------- interleaved timing


@dataclasses.dataclass
class Case:
    """One timed call: `run()` returns an array-like result that has finished computing."""

    impl: str
    name: str  # e.g. "forward", "forward + input gradient", "matmul", "loss + gradient"
    run: Callable[[], object]
    setup_s: float | None = None  # JAX: lower + compile; PyTorch: first (warm-up) call
    out: object = None
    times: list[float] = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)


def time_round_robin(cases: list[Case], repeats: int) -> None:
    """One warm-up call each, then `repeats` rounds that time every case once, in turn.

    Interleaving gives every case the same share of whatever else the machine is doing, so
    ratios between cases stay meaningful even when absolute times are skewed by other load.
    """
    for case in cases:
        case.run()
    for _ in range(repeats):
        for case in cases:
            start = time.perf_counter()
            case.run()
            case.times.append(time.perf_counter() - start)


def matmul_case(n: int = MATMUL_N) -> Case:
    """A float32 n^3 matmul in JAX (default precision): the machine's practical float32 peak."""
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal((n, n), np.float32))
    b = jnp.asarray(rng.standard_normal((n, n), np.float32))
    compiled = jax.jit(jnp.matmul).lower(a, b).compile()
    return Case("JAX", "matmul", lambda: compiled(a, b).block_until_ready(),
                extra={"flops": 2 * n**3})


# ---------------------------------------------------------------- PyTorch


def torch_device() -> str:
    """Where PyTorch runs: CUDA when available (eager PyTorch on the GPU), else the CPU."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_objective(vgg, problem: Problem, config: StyleConfig,
                    memory_format: str = "channels_last", device: str | None = None):
    """torch_reference's objective of `config` with the problem's content and style images,
    on `device` (default: torch_device())."""
    from . import torch_reference as ref
    model = ref.build_model(vgg, pooling=config.pooling, memory_format=memory_format,
                            device=device or torch_device())
    return ref.make_objective(model, problem.to_network(problem.content),
                              problem.to_network(problem.styles[0]),
                              content_weight=config.content_weight,
                              content_layer=config.content_layer,
                              style_layers=config.style_layers,
                              style_weights=config.layer_weights)


def run_torch(optimizer: str, objective, x0: np.ndarray, evaluations: int, *,
              learning_rate: float | None = None, history: int = 100) -> dict:
    """torch.optim.LBFGS (history, lr 1, no line search) or torch.optim.Adam (lr 10 unless
    given), the project's defaults, on a torch_reference objective for exactly `evaluations`
    evaluations, after one warm-up evaluation (oneDNN / cuDNN setup) timed apart."""
    import torch

    from . import torch_reference as ref
    start = time.perf_counter()
    ref.loss_and_grad(objective, x0)
    warmup = time.perf_counter() - start
    lr = DEFAULT_LEARNING_RATE[optimizer] if learning_rate is None else learning_rate
    if optimizer == "lbfgs":
        result = ref.run_lbfgs(objective, x0, evaluations, history_size=history, lr=lr)
        name = f"PyTorch LBFGS (history {history}, lr {lr:g}, no line search)"
    else:
        result = ref.run_adam(objective, x0, evaluations, lr=lr)
        name = f"PyTorch Adam (lr {lr:g})"
    return {"name": name, "history": result.history, "evaluations": result.evaluations,
            "wall_seconds": result.wall_seconds, "compile_seconds": warmup,
            "compile_kind": "warm-up", "x": result.x, "torch_version": torch.__version__}
