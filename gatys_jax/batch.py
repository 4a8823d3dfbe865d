"""Many images in one compiled program: the jobs (style x lambda x seed product), how many fit
in memory at once, and how a batch is laid out across devices (a 1-D mesh over the batch)."""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .errors import GatysError
from .losses import LossConfig
from .vgg import variables
from .weights import LAYERS

BATCH_AXIS = "batch"
MEMORY_FRACTION = 0.6  # of the free memory a batch may plan to use


@dataclasses.dataclass(frozen=True)
class Job:
    """One output image: which style (index), which lambda, which noise seed."""

    style: int
    content_weight: float
    seed: int


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' or '0-7' or '0-3,8' -> seeds (order kept, duplicates refused)."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise GatysError(f"malformed seed {part!r} in --seeds {text!r}: use 0,1,2 or 0-7")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if last < first:
            raise GatysError(f"empty seed range {part!r} in --seeds: write it as {last}-{first}")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise GatysError(f"--seeds {text!r} repeats a seed")
    return seeds


def product(num_styles: int, content_weights, seeds) -> list[Job]:
    """All combinations, style-major: one job per output image."""
    if num_styles < 1 or not len(content_weights) or not len(seeds):
        raise GatysError("need at least one style, one content weight and one seed")
    return [Job(s, float(w), int(seed))
            for s, w, seed in itertools.product(range(num_styles), content_weights, seeds)]


def mesh() -> Mesh:
    """A 1-D mesh over all visible devices, named 'batch'."""
    return Mesh(np.array(jax.devices()), (BATCH_AXIS,))


def padded_size(size: int, multiple: int) -> int:
    return -(-size // multiple) * multiple


def pad_batch(tree, size: int):
    """Pad every array's leading axis to `size` by repeating its last entry."""
    def pad(array):
        missing = size - array.shape[0]
        if missing == 0:
            return array
        return np.concatenate([array, np.repeat(array[-1:], missing, axis=0)])
    return jax.tree.map(pad, tree)


def batch_sharding(device_mesh: Mesh) -> NamedSharding:
    """Arrays split along their leading (batch) axis over the mesh."""
    return NamedSharding(device_mesh, PartitionSpec(BATCH_AXIS))


def shard(tree, device_mesh: Mesh):
    return jax.device_put(tree, batch_sharding(device_mesh))


def replicate(tree, device_mesh: Mesh):
    return jax.device_put(tree, NamedSharding(device_mesh, PartitionSpec()))


def to_host(tree):
    """Numpy copies of (possibly sharded) arrays; across several hosts, every process gets the
    whole batch (`process_allgather`)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))
    return jax.tree.map(np.asarray, jax.device_get(tree))


def bytes_per_image(config: LossConfig, params, height: int, width: int, history: int,
                    optimizer: str) -> int:
    """Estimated peak bytes one image of a batch needs: activations kept for the backward pass
    (each layer's conv output and ReLU output, and their gradients) from `jax.eval_shape`,
    plus the optimizer state (L-BFGS: 2 x history image-sized vectors; Adam: 2)."""
    deepest = max(LAYERS.index(layer) for layer in config.layers)
    x = jax.ShapeDtypeStruct((1, height, width, 3), np.float32)
    shapes = jax.eval_shape(
        lambda p, x: config.model().apply(variables(p), x, LAYERS[: deepest + 1]), params, x)
    itemsize = np.dtype(config.dtype).itemsize
    activations = sum(math.prod(s.shape) for s in shapes.values()) * itemsize * 4
    image = height * width * 3 * 4
    state_vectors = 2 * history if optimizer == "lbfgs" else 2
    return activations + image * (state_vectors + 6)


def free_bytes(device=None) -> int:
    """Free memory of a device: accelerator statistics, or the host's available RAM on CPU."""
    device = device or jax.devices()[0]
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def chunk_size(num_jobs: int, per_image: int, num_devices: int, max_batch: int | None,
               free: int) -> int:
    """Images per compiled batch: all jobs if they fit (a multiple of the device count), else
    as many as fit in MEMORY_FRACTION of each device's free memory; `max_batch` overrides."""
    if max_batch is not None:
        if max_batch < 1:
            raise GatysError(f"--max-batch must be >= 1, got {max_batch}")
        return min(padded_size(num_jobs, num_devices), padded_size(max_batch, num_devices))
    per_device = int(free * MEMORY_FRACTION // per_image)
    if per_device < 1:
        raise GatysError(
            f"one image needs about {per_image / 2**30:.1f} GiB but only "
            f"{free / 2**30:.1f} GiB is free: lower --size or --history, or set --max-batch 1 "
            "to try anyway")
    return min(padded_size(num_jobs, num_devices), per_device * num_devices)
