"""What the benchmarks share: their arguments (a StyleConfig on the plain weights, the content and
style images), the machine, the problem as the library sets it up, interleaved timing,
loss-curve look-ups, the report they copy into docs/, and one run of an optimizer in PyTorch
(benchmarks.torch_reference).

The benchmarks use the plain (un-normalized) weights by default: that is the network PyTorch
ports of the method use, so their losses compare with PyTorch's as they are.
"""

from __future__ import annotations

import csv
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.io import paths
from gatys_jax.optim.solvers import DEFAULT_LEARNING_RATE
from gatys_jax.problem import Problem
from lab.script import ROOT

RESULTS = ROOT / "results"
MATMUL_N = 4096
# How closely two float32 programs of one objective (JAX and PyTorch, or two optimizers' x_0)
# can agree on a loss under each backend's default matmul precision: full float32 on CPU;
# TF32-class convolutions (10 mantissa bits) on GPUs and bf16 passes on TPUs.
LOSS_RTOL = {"cpu": 1e-4, "gpu": 2e-3, "tpu": 2e-3}


# ---------------------------------------------------------------- arguments


def defaults(**changes) -> StyleConfig:
    """A benchmark's default settings: the plain weights and the benchmark's own `changes`."""
    return StyleConfig(weights=paths.plain_weights(), **changes)


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


# ---------------------------------------------------------------- the problem


def config_json(config: StyleConfig) -> dict:
    """The settings as JSON, to hand them to a fresh process (StyleConfig(**them))."""
    return {k: v for k, v in config.to_json().items() if k != "layer_weights"}


def loss_rtol() -> float:
    """LOSS_RTOL of the backend JAX runs on (the loosest for one not listed)."""
    return LOSS_RTOL.get(jax.default_backend(), max(LOSS_RTOL.values()))


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
