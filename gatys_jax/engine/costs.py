"""What a run will cost, known before anything is loaded: memory per image (from shapes
alone), how many images fit in one compiled batch, FLOPs per evaluation and a time estimate.
"""

from __future__ import annotations

import math
import os
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.errors import GatysError
from gatys_jax.model.layers import LAYERS, deepest, kernel_shape, layer_block, layer_scale
from gatys_jax.model.objective import Objective
from gatys_jax.model.vgg import variables
from gatys_jax.optim.solvers import Solver

MEMORY_FRACTION = 0.6  # of the free memory a batch may plan to use
IMAGE_VECTORS = 6  # image-sized arrays besides the solver's state: x, gradient, trial, ...
# Peak bytes of a loss+gradient evaluation per byte of the layers' outputs (each kept for the
# backward pass, with the gradients in flight); calibrated against the peak memory of real
# runs (docs/memory.md, python -m benchmarks.memory), with a margin
ACTIVATION_FACTOR = 3
# The same per byte of the largest block's outputs when blocks are recomputed: while one block
# runs backward its recomputed outputs, their pre-activations and their gradients are all live
REMAT_ACTIVATION_FACTOR = 5
MIN_HISTORY = 5  # L-BFGS pairs below which fitting a large image is refused instead


def _param_shapes() -> dict:
    return {layer: {"kernel": jax.ShapeDtypeStruct(kernel_shape(layer), jnp.float32),
                    "bias": jax.ShapeDtypeStruct(kernel_shape(layer)[3:], jnp.float32)}
            for layer in LAYERS}


class Memory(NamedTuple):
    """Estimated peak bytes of one image of a batch."""

    activations: int  # the layers' outputs kept for the backward pass, and gradients
    solver: int  # the solver's state (L-BFGS: its history)
    images: int  # x, its gradient, the trial point...

    @property
    def total(self) -> int:
        return self.activations + self.solver + self.images


def activation_bytes(objective: Objective, height: int, width: int) -> int:
    """From `jax.eval_shape` only. With objective.remat only each block's input is kept, and
    one block at a time is recomputed."""
    last = LAYERS.index(deepest(objective.layers))
    x = jax.ShapeDtypeStruct((1, height, width, 3), jnp.float32)
    shapes = jax.eval_shape(
        lambda p, x: objective.model().apply(variables(p), x, LAYERS[: last + 1]),
        _param_shapes(), x)
    itemsize = jnp.dtype(objective.dtype).itemsize
    sizes = {layer: math.prod(shape.shape) * itemsize for layer, shape in shapes.items()}
    if not objective.remat:
        return ACTIVATION_FACTOR * sum(sizes.values())
    blocks: dict[int, list[int]] = {}
    for layer, size in sizes.items():
        blocks.setdefault(layer_block(layer), []).append(size)
    inputs_kept = sum(block[-1] // 4 for block in list(blocks.values())[:-1])
    return inputs_kept + REMAT_ACTIVATION_FACTOR * max(sum(block) for block in blocks.values())


def memory_per_image(objective: Objective, solver: Solver, height: int, width: int) -> Memory:
    """From shapes only: nothing is computed or allocated."""
    state = jax.eval_shape(solver.init, jax.ShapeDtypeStruct((height, width, 3), jnp.float32))
    solver_bytes = sum(math.prod(s.shape) * s.dtype.itemsize for s in jax.tree.leaves(state))
    return Memory(activation_bytes(objective, height, width), solver_bytes,
                  height * width * 3 * 4 * IMAGE_VECTORS)


def available_bytes() -> int:
    """Free memory of this process's first device: accelerator statistics, or the host's
    available RAM on CPU. Across several processes, the least of theirs, so that every
    process plans the same batches (their collectives must match)."""
    device = jax.local_devices()[0]
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        free = int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    else:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if jax.process_count() > 1:  # in MiB: JAX gathers 32-bit integers unless x64 is on
        from jax.experimental import multihost_utils
        free = int(np.min(multihost_utils.process_allgather(np.int32(free >> 20)))) << 20
    return free


def human_bytes(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def lbfgs_pair_bytes(height: int, width: int) -> int:
    """Bytes of one L-BFGS history pair (s and Py) for an image of this size."""
    return 2 * height * width * 3 * 4


def batch_size(num_jobs: int, memory: Memory, num_devices: int, max_batch: int | None,
               available: int, height: int, width: int) -> int:
    """Images per compiled batch: all jobs if they fit (a multiple of the device count), else
    as many as fit in MEMORY_FRACTION of each device's free memory; `max_batch` overrides.
    A single image that cannot fit is refused, with what would fit."""
    padded = -(-num_jobs // num_devices) * num_devices
    if max_batch is not None:
        return min(padded, -(-max_batch // num_devices) * num_devices)
    budget = available * MEMORY_FRACTION
    per_device = int(budget // memory.total)
    if per_device < 1:
        fit = math.sqrt(budget / memory.total)  # memory grows with the pixel count
        size = int(max(height, width) * fit) // 8 * 8
        hints = [f"a size of at most {size} px" if size >= 16 else "a much smaller size"]
        if memory.solver > memory.images:
            hints.append("the adam optimizer, or a shorter L-BFGS history")
        raise GatysError(
            f"one {width}x{height} image needs about {human_bytes(memory.total)} (activations "
            f"{human_bytes(memory.activations)}, optimizer state {human_bytes(memory.solver)}) but "
            f"{human_bytes(available)} is free, of which {MEMORY_FRACTION:.0%} may be planned: try "
            + ", or ".join(hints) + " (or max_batch 1 to try anyway)")
    return min(padded, per_device * num_devices)


def evaluation_flops(objective: Objective, height: int, width: int) -> int:
    """FLOPs of one loss + input-gradient evaluation (2 per multiply-add).

    Convolutions through the deepest layer used, forward and input gradient (the same count
    as the forward pass: a transposed conv; no weight gradients), plus each style layer's
    Gram matrix F F^T (2 M N^2) and its gradient 2 F dG (2 M N^2 again). ReLU, pooling and
    the elementwise parts of the losses are left out (well under 1%)."""
    total = 2 * forward_flops(height, width, deepest(objective.layers))
    for layer in objective.style_layers:
        scale = layer_scale(layer)
        n = kernel_shape(layer)[3]
        total += 2 * 2 * (height // scale) * (width // scale) * n * n
    return total


def forward_flops(height: int, width: int, last: str = "conv5_1") -> int:
    """Conv FLOPs of one forward pass through `last`."""
    total = 0
    for layer in LAYERS[: LAYERS.index(last) + 1]:
        scale = layer_scale(layer)
        _, _, c_in, c_out = kernel_shape(layer)
        total += 2 * (height // scale) * (width // scale) * c_in * c_out * 9
    return total


def measured_flops_per_second(n: int = 1024, repeats: int = 3) -> float:
    """This backend's float32 matmul rate, from a few n^3 products (about a second)."""
    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n), np.float32))
    product = jax.jit(jnp.matmul).lower(a, a).compile()
    product(a, a).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, a).block_until_ready()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times)
