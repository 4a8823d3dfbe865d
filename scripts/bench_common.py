"""Pieces shared by the benchmark scripts (bench_features, bench_stylize, compare_optimizers,
bench_vs_torch): the machine, the benchmark setting, the FLOP model, interleaved timing,
loss-curve look-ups and one run of an optimizer in JAX (through `gatys_jax.stylize`) or in
PyTorch (through `torch_reference`).

Not a script; the scripts in this folder import it (`scripts/` is on `sys.path` when one of
them runs, and the tests put it there).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax import images
from gatys_jax.precondition import DEFAULT_EXPONENT as DEFAULT_PRECONDITION
from gatys_jax.stylize import initial_image, prepare_images, stylize
from gatys_jax.weights import LAYERS, kernel_shape, layer_block

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "images"
MATMUL_N = 4096


# ---------------------------------------------------------------- the machine


def add_problem_arguments(p) -> None:
    """--content, --style and --weights, with the benchmarks' defaults (plain weights)."""
    p.add_argument("--content", default=str(IMAGES / "tubingen.jpg"),
                   help="content image (default ../shared/images/tubingen.jpg)")
    p.add_argument("--style", default=str(IMAGES / "starry_night.jpg"),
                   help="style image (default ../shared/images/starry_night.jpg)")
    p.add_argument("--weights", default=str(ROOT / "weights" / "vgg19.h5"),
                   help="weight file (default: the plain weights, weights/vgg19.h5)")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line: date, host, CPU (and accelerator), JAX and (if importable) torch versions."""
    device = jax.devices()[0]
    accel = "" if device.platform == "cpu" else f", {device.device_kind} ({device.platform})"
    try:
        import torch
        torch_text = f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_text = ""
    return (f"{datetime.datetime.now().isoformat(timespec='seconds')}, {platform.node()}, "
            f"{cpu_name()}, {cores()} cores{accel}; jax {jax.__version__} "
            f"({jax.default_backend()}){torch_text}")


def add_docs_arguments(p, default: Path) -> None:
    """--docs PATH (default `default`) and --no-docs: where a script copies its report."""
    p.add_argument("--docs", default=str(default),
                   help=f"Markdown report for the docs (default {default.relative_to(ROOT)})")
    p.add_argument("--no-docs", action="store_true", help="do not write --docs")


def write_docs(args, title: str, script: str, body: str) -> Path | None:
    """Write `body` under `title` to args.docs (unless args.no_docs), saying which script and
    command line wrote it; returns the path written."""
    if args.no_docs:
        return None
    docs = Path(args.docs)
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(f"# {title}\n\nWritten by `scripts/{script}` (the latest run; see its "
                    f"docstring for what is measured and how).\n\n{body}\n")
    return docs


def command_line(script: str, argv) -> str:
    """How this script was run, for the report: `python scripts/SCRIPT ARGS`."""
    return f"python scripts/{script} " + shlex.join(argv if argv is not None else sys.argv[1:])


# ---------------------------------------------------------------- the setting


def prepared(content, style, size):
    """(content, style) RGB arrays as stylize prepares them (prepare_images may return the
    style alone or a list of styles)."""
    content_rgb, styles = prepare_images(content, style, size)
    return content_rgb, (styles[0] if isinstance(styles, (list, tuple)) else styles)


@dataclasses.dataclass
class Setting:
    """Content, style and noise x_0 of one benchmark, as RGB and as network input."""

    content: np.ndarray  # RGB 0..255 (H, W, 3), as stylize prepares it
    style: np.ndarray
    content_x: np.ndarray  # network input
    style_x: np.ndarray
    convention: object

    def x0(self, init: str, seed: int) -> np.ndarray:
        """Network input of x_0: exactly what stylize(init=..., seed=...) starts from."""
        return images.to_network(initial_image(init, seed, self.content, self.style),
                                 self.convention)

    def to_rgb(self, x: np.ndarray) -> np.ndarray:
        """Network input -> uint8 RGB, as stylize writes its images."""
        rgb = images.from_network(np.asarray(x, np.float32), self.convention)
        return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def setting(content, style, size: int, vgg) -> Setting:
    content_rgb, style_rgb = prepared(content, style, size)
    conv = vgg.convention
    return Setting(content_rgb, style_rgb, images.to_network(content_rgb, conv),
                   images.to_network(style_rgb, conv), conv)


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


# ---------------------------------------------------------------- FLOP model


def forward_flops(height: int, width: int, last: str = "conv5_1") -> int:
    """Conv FLOPs of one forward pass through `last` (2 per multiply-add)."""
    total = 0
    for layer in LAYERS[: LAYERS.index(last) + 1]:
        scale = 2 ** (layer_block(layer) - 1)  # 2x2 poolings before this block
        _, _, c_in, c_out = kernel_shape(layer)
        total += 2 * (height // scale) * (width // scale) * c_in * c_out * 9
    return total


def objective_flops(height: int, width: int, layers: Sequence[str],
                    style_layers: Sequence[str]) -> int:
    """FLOPs of one loss + input-gradient evaluation of the Gatys objective.

    Convolutions through the deepest layer used, forward and input gradient (the same count
    as the forward pass: a transposed conv; no weight gradients), plus each style layer's
    Gram matrix F F^T (2 M N^2) and its gradient 2 F dG (2 M N^2 again). ReLU, pooling and
    the elementwise parts of the losses are left out (well under 1%)."""
    deepest = max(layers, key=LAYERS.index)
    total = 2 * forward_flops(height, width, deepest)
    for layer in style_layers:
        scale = 2 ** (layer_block(layer) - 1)
        n = kernel_shape(layer)[3]
        total += 2 * 2 * (height // scale) * (width // scale) * n * n
    return total


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


# ---------------------------------------------------------------- one run per framework


def run_jax(content, style, *, size: int, evaluations: int, optimizer: str = "lbfgs",
            learning_rate: float | None = None, content_weight: float = 1e-3,
            pooling: str = "avg", weights=None, init: str = "noise", seed: int = 0,
            history: int = 100, dtype: str = "float32",
            precondition: float = DEFAULT_PRECONDITION) -> dict:
    """The project's optimizer through the public API for exactly `evaluations` evaluations
    (stylize's initial evaluation plus evaluations - 1 steps)."""
    image, metrics = stylize(content, style, size=size, iterations=evaluations - 1,
                             optimizer=optimizer, learning_rate=learning_rate,
                             content_weight=content_weight, pooling=pooling, weights=weights,
                             init=init, seed=seed, history=history, dtype=dtype,
                             precondition=precondition)
    settings = metrics["settings"]
    name = (f"gatys_jax L-BFGS (history {settings['history']}, "
            + (f"preconditioned, e {precondition:g})" if precondition else "H0 = gamma I)")
            if optimizer == "lbfgs" else f"gatys_jax Adam (lr {settings['learning_rate']:g})")
    if dtype != "float32":
        name += f", {dtype}"
    return {"name": name, "history": metrics["history"], "evaluations": metrics["evaluations"],
            "wall_seconds": metrics["wall_seconds"], "compile_seconds": metrics["compile_seconds"],
            "compile_kind": "compile", "size": metrics["size"], "image": image}


def torch_objective(vgg, content_x, style_x, *, content_weight: float = 1e-3,
                    pooling: str = "avg", memory_format: str = "channels_last",
                    device: str | None = None):
    """torch_reference's objective on `device` (default: CUDA if available, else the CPU)."""
    import torch
    import torch_reference as ref
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = ref.build_model(vgg, pooling=pooling, memory_format=memory_format, device=device)
    return ref.make_objective(model, content_x, style_x, content_weight=content_weight)


def run_torch(optimizer: str, objective, x0: np.ndarray, evaluations: int, *,
              learning_rate: float | None = None, history: int = 100) -> dict:
    """torch.optim.LBFGS (history, lr 1, no line search) or torch.optim.Adam (lr default 10)
    on a torch_reference objective for exactly `evaluations` evaluations, after one warm-up
    evaluation (oneDNN / cuDNN setup) timed apart."""
    import torch
    import torch_reference as ref
    start = time.perf_counter()
    ref.loss_and_grad(objective, x0)
    warmup = time.perf_counter() - start
    if optimizer == "lbfgs":
        lr = 1.0 if learning_rate is None else learning_rate
        result = ref.run_lbfgs(objective, x0, evaluations, history_size=history, lr=lr)
        name = f"PyTorch LBFGS (history {history}, lr {lr:g}, no line search)"
    else:
        lr = 10.0 if learning_rate is None else learning_rate
        result = ref.run_adam(objective, x0, evaluations, lr=lr)
        name = f"PyTorch Adam (lr {lr:g})"
    return {"name": name, "history": result.history, "evaluations": result.evaluations,
            "wall_seconds": result.wall_seconds, "compile_seconds": warmup,
            "compile_kind": "warm-up", "x": result.x, "torch_version": torch.__version__}
