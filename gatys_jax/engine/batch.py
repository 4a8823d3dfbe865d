"""Many images in one compiled program: the jobs (one per output image) and how a batch of
them is laid out across devices (a 1-D mesh over the batch axis, padded to a multiple of the
device count, the VGG parameters replicated).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

BATCH_AXIS = "batch"


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


def stack(trees: list):
    """One tree of arrays with a leading batch axis from a list of trees of the same shape."""
    return jax.tree.map(lambda *leaves: np.stack(leaves), *trees)


def batch_sharding(device_mesh: Mesh) -> NamedSharding:
    """Arrays split along their leading (batch) axis over the mesh."""
    return NamedSharding(device_mesh, PartitionSpec(BATCH_AXIS))


def _place(tree, sharding: NamedSharding):
    """Host arrays (the same on every process) as global arrays laid out by `sharding`: each
    process puts only the pieces its own devices hold."""
    return jax.tree.map(lambda a: jax.make_array_from_callback(
        np.shape(a), sharding, lambda index, a=a: np.asarray(a)[index]), tree)


def shard(tree, device_mesh: Mesh):
    """Leading (batch) axis split over the mesh's devices, on every host."""
    return _place(tree, batch_sharding(device_mesh))


def replicate(tree, device_mesh: Mesh):
    """A whole copy on every device of the mesh, on every host."""
    return _place(tree, NamedSharding(device_mesh, PartitionSpec()))


def to_host(tree):
    """Numpy copies of (possibly sharded) arrays; across several hosts, every process gets the
    whole of each (`process_allgather`): for losses and counters, not images."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))
    return jax.tree.map(np.asarray, jax.device_get(tree))


def agreed_signal(signum: int) -> int:
    """The signal any process has received (0: none). Every process stops at the same step,
    so that their collectives stay matched."""
    if jax.process_count() == 1:
        return signum
    from jax.experimental import multihost_utils
    return int(np.max(multihost_utils.process_allgather(np.int32(signum))))


def local_rows(array) -> tuple[list[int], np.ndarray]:
    """(batch indices, rows) of a batch-sharded array held by this process's devices: each
    host reads only its own images."""
    if jax.process_count() == 1:
        rows = np.asarray(jax.device_get(array))
        return list(range(len(rows))), rows
    pieces = {}
    for shard_ in array.addressable_shards:
        start = shard_.index[0].start or 0
        for offset, row in enumerate(np.asarray(shard_.data)):
            pieces[start + offset] = row
    indices = sorted(pieces)
    return indices, np.stack([pieces[i] for i in indices])
