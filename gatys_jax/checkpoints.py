"""A run's optimizer state on disk, so that a run stopped by a signal, a crash or a lost
machine goes on where it was instead of starting again.

One .npz file, written atomically every EVERY_SECONDS and when a signal stops the run,
holds the driver's State (image, loss, gradient, counters, the L-BFGS history), its loss
trace, the run's key and what its caller needs besides (stylize: the scale reached and the
histories of the scales before, as JSON; an experiment: its snapshots as arrays). The key is
a digest of everything that decides the optimization (the settings but the iteration cap,
the jobs, the weights, the content and style pixels), so that a file never resumes another
run. The file is read as plain arrays and JSON, never unpickled: nothing read is executed;
each member's name and declared size are checked before any is read, and a state that is not
finite, or notes that are not what their caller writes, are refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import jax
import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.engine import driver
from gatys_jax.engine.batch import to_host
from gatys_jax.errors import GatysError
from gatys_jax.io.files import write_atomic
from gatys_jax.weights.h5 import DIGEST, VGGWeights

FORMAT = 2  # of the file; another is refused
EVERY_SECONDS = 300.0  # between saves: a lost machine costs at most this much optimization
# settings that change how long a run goes on or what it writes on the way, not its path
NOT_IN_KEY = ("iterations", "save_every")


def weights_identity(vgg: VGGWeights) -> str:
    """The weights as a run's key names them: the digest of their data (whatever file or
    folder they were read from), or the source of weights made in memory."""
    return vgg.metadata.get(DIGEST) or vgg.metadata.get("source", "")


def pixels_digest(arrays: Sequence[np.ndarray]) -> str:
    """SHA-256 of the arrays' shapes and float32 bytes."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array, np.float32)
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def path_settings(settings: dict) -> dict:
    """The settings (StyleConfig.to_json()) that decide a run's path: all but NOT_IN_KEY."""
    return {key: value for key, value in settings.items() if key not in NOT_IN_KEY}


def run_key(config: StyleConfig, weights: str, images: Sequence[np.ndarray],
            jobs: Sequence = (), **more) -> str:
    """The digest of what decides a run's path: `config`'s settings but NOT_IN_KEY, the
    weights' source, the content and style `images` (RGB arrays as read), each job's
    (content, style, content weight, seed) and any `more` (JSON values) the caller's run
    depends on."""
    settings = path_settings(config.to_json())
    jobs = [(job.content, job.style, job.config.content_weight, job.config.seed)
            for job in jobs]
    text = json.dumps([settings, weights, pixels_digest(images), jobs, more], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def source_arrays(source) -> list[np.ndarray]:
    """Every image of a run's controls.Images (content, styles, the original, the regions of
    any masks), for run_key."""
    arrays = [source.content, *source.styles, source.original]
    if source.content_regions is not None:
        arrays.append(source.content_regions)
    return arrays + list(source.style_regions or [])


MEMBER = re.compile(r"(meta|leaf_[0-9]+|trace_[a-z_]+|own_[a-z_0-9]+)\.npy")


def _check_members(archive: zipfile.ZipFile, file_size: int) -> None:
    """Before any member is read: every member is one a checkpoint holds, stored as np.savez
    stores it (uncompressed, so that its size is bounded by the file's), and its .npy header
    declares what it stores, no more. ValueError says what is wrong."""
    for info in archive.infolist():
        if not MEMBER.fullmatch(info.filename):
            raise ValueError(f"it holds an unknown member {info.filename!r}")
        if (info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size
                or info.file_size > file_size):
            raise ValueError(f"member {info.filename!r} is not stored as np.savez stores it")
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"member {info.filename!r} has .npy format {version}")
            declared = member.tell() + math.prod(shape) * dtype.itemsize
        if declared != info.file_size:
            raise ValueError(f"member {info.filename!r} declares {declared} bytes and stores "
                             f"{info.file_size}")


def _check_finite(arrays: dict[str, np.ndarray]) -> None:
    """A state or trace that is not finite cannot go on: refuse it (ValueError)."""
    for name, array in arrays.items():
        if np.issubdtype(array.dtype, np.inexact) and not np.all(np.isfinite(array)):
            raise ValueError(f"{name} holds non-finite values")


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"its notes' {name} is not a finite number")
    return value


def _index(value, name: str, end: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (
            end is not None and value >= end):
        raise ValueError(f"its notes' {name} is {value!r}, not an index"
                         + (f" below {end}" if end is not None else ""))
    return value


ROW_KEYS = {"evaluations", "total_loss", "seconds", "size"}  # and "moved" where measured


def check_stylize_notes(notes, images: int, scales: int) -> None:
    """ValueError unless `notes` are what stylize saves for a run of `images` images over
    `scales` scales: {"scale": the scale reached, "histories": one list of rows per image
    (those of the scales before), "seconds": the seconds optimized before it}."""
    if not isinstance(notes, dict) or set(notes) != {"scale", "histories", "seconds"}:
        raise ValueError("its notes are not a stylize run's")
    _index(notes["scale"], "scale", scales)
    if _number(notes["seconds"], "seconds") < 0:
        raise ValueError("its notes' seconds are negative")
    histories = notes["histories"]
    if not isinstance(histories, list) or len(histories) != images or not all(
            isinstance(history, list) for history in histories):
        raise ValueError(f"its notes do not hold one history for each of the {images} images")
    for row in (row for history in histories for row in history):
        if not isinstance(row, dict) or not ROW_KEYS <= set(row) <= ROW_KEYS | {"moved"}:
            raise ValueError("its notes' histories hold a row that is not a history row")
        _index(row["evaluations"], "evaluations")
        for name in ("total_loss", "seconds", "moved"):
            if name in row:
                _number(row[name], name)
        if not (isinstance(row["size"], list) and len(row["size"]) == 2):
            raise ValueError("its notes' histories hold a size that is not (height, width)")
        for side in row["size"]:
            _index(side, "size")


class Saved(NamedTuple):
    """What a checkpoint holds."""

    notes: dict  # the caller's JSON (stylize: the scale reached, the histories before it)
    leaves: list[np.ndarray]  # jax.tree.leaves of the driver State (driver.restore)
    trace: dict[str, np.ndarray]  # driver.Trace.arrays() (driver.Trace.restore)
    arrays: dict[str, np.ndarray]  # the caller's own arrays


class Checkpoint:
    """The checkpoint file of one run: `load` it at the start, `save` it as the run goes on
    (`due` says when); its caller deletes it once every output of the run is written."""

    def __init__(self, path: str | Path, key: str):
        self.path, self.key = Path(path), key
        self.saved_at = time.monotonic()

    def load(self, check_notes: Callable[[object], None] = lambda notes: None
             ) -> Saved | None:
        """The saved state of this run; None when the file does not exist. GatysError when
        it belongs to another run or cannot be read, or when `check_notes(notes)` raises
        ValueError (saying what is wrong with them)."""
        if not self.path.exists():
            return None
        try:
            with zipfile.ZipFile(self.path) as archive:
                _check_members(archive, self.path.stat().st_size)
            with np.load(self.path, allow_pickle=False) as saved:
                arrays = {name: saved[name] for name in saved.files}
            meta = json.loads(str(arrays.pop("meta")))
            leaves = [arrays.pop(f"leaf_{i}") for i in range(meta["leaves"])]
            trace = {name[len("trace_"):]: arrays.pop(name) for name in list(arrays)
                     if name.startswith("trace_")}
            key, notes, version = meta["key"], meta["notes"], meta["format"]
            own = {name[len("own_"):]: value for name, value in arrays.items()
                   if name.startswith("own_")}
            driver.Trace.restore(trace)  # raises on a trace that lacks its arrays
            _check_finite({**{f"leaf_{i}": leaf for i, leaf in enumerate(leaves)},
                           **{f"trace_{name}": value for name, value in trace.items()}})
        except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError,
                zipfile.BadZipFile) as e:
            raise self._damaged(e) from None
        if version != FORMAT:
            raise GatysError(f"checkpoint {self.path} was written by another version of "
                             "gatys-jax; delete it to start the run afresh")
        if key != self.key:
            raise GatysError(f"checkpoint {self.path} belongs to another run (other settings, "
                             "images or weights); delete it or name another file")
        try:
            check_notes(notes)
        except ValueError as e:
            raise self._damaged(e) from None
        return Saved(notes, leaves, trace, own)

    def _damaged(self, problem) -> GatysError:
        return GatysError(f"checkpoint {self.path} cannot be read ({problem}); delete it to "
                          "start the run afresh")

    def due(self) -> bool:
        """EVERY_SECONDS have passed since the last save (or the start)."""
        return time.monotonic() - self.saved_at >= EVERY_SECONDS

    def save(self, state: driver.State, trace: driver.Trace, notes: dict,
             arrays: dict[str, np.ndarray] | None = None) -> None:
        """Write the run's state and trace with the caller's `notes` (JSON) and `arrays`
        (atomically: an older checkpoint stays whole until the new one replaces it)."""
        leaves = to_host(jax.tree.leaves(state))
        meta = json.dumps({"format": FORMAT, "key": self.key, "notes": notes,
                           "leaves": len(leaves)})
        stored = {"meta": np.array(meta),
                  **{f"leaf_{i}": leaf for i, leaf in enumerate(leaves)},
                  **{f"trace_{name}": value for name, value in trace.arrays().items()},
                  **{f"own_{name}": value for name, value in (arrays or {}).items()}}

        def write(tmp: Path) -> None:
            with tmp.open("wb") as file:
                np.savez(file, **stored)

        write_atomic(self.path, write)
        self.saved_at = time.monotonic()

    def save_or_warn(self, state: driver.State, trace: driver.Trace, notes: dict,
                     arrays: dict[str, np.ndarray] | None = None) -> None:
        """`save`, for the saves along the way: a failure (a full disk) is said on stderr and
        the run goes on, its older checkpoint kept."""
        try:
            self.save(state, trace, notes, arrays)
        except GatysError as e:
            print(f"gatys-jax: checkpoint not saved, the run goes on: {e}", file=sys.stderr)
            self.saved_at = time.monotonic()
