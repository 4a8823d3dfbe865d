"""What the benchmarks share: their default settings (a StyleConfig on the plain weights), the
loss tolerance of the backend, the CSV and Markdown tables they write, loss-curve look-ups and
interleaved timing. PyTorch's side is benchmarks.torch_runs; a measurement in a fresh process
benchmarks.fresh_process.

The benchmarks use the plain (un-normalized) weights by default: that is the network PyTorch
ports of the method use, so their losses compare with PyTorch's as they are.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.io import paths
from lab.script import ROOT

RESULTS = ROOT / "results"
MATMUL_N = 4096
# How closely two float32 programs of one objective (JAX and PyTorch, or two optimizers' x_0)
# can agree on a loss under each backend's default matmul precision: full float32 on CPU;
# TF32-class convolutions (10 mantissa bits) on GPUs and bf16 passes on TPUs.
LOSS_RTOL = {"cpu": 1e-4, "gpu": 2e-3, "tpu": 2e-3}


# ---------------------------------------------------------------- settings


def defaults(**changes) -> StyleConfig:
    """A benchmark's default settings: the plain weights and the benchmark's own `changes`."""
    return StyleConfig(weights=paths.plain_weights(), **changes)


def loss_rtol() -> float:
    """LOSS_RTOL of the backend JAX runs on (the loosest for one not listed)."""
    return LOSS_RTOL.get(jax.default_backend(), max(LOSS_RTOL.values()))


# ---------------------------------------------------------------- outputs


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


def markdown_table(columns: Sequence[str], align: str, rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: `columns` are the header cells, `align` one letter per column (l: left,
    r: right), each row its cells as text."""
    lines = [columns, ["---" if a == "l" else "---:" for a in align], *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def fmt(value, spec: str, missing: str = "-") -> str:
    """`value` formatted by `spec`; `missing` for None or NaN."""
    return missing if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


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
