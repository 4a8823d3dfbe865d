"""Read `torch.save` files (legacy and zip formats) into numpy arrays, without torch.

Only what weight files need: dicts, lists and tuples of dense tensors and plain values. Every
pickle in the file, the legacy format's header included, goes through one restricted
unpickler that resolves only the few names a tensor file uses (`_rebuild_tensor_v2`,
`OrderedDict`, the storage types), so reading a file never runs code from it. Every tensor's
size, stride and offset is checked against its storage before a view is made, and every
storage's length against what the file declares, so a crafted file cannot read outside them.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from typing import BinaryIO

import numpy as np

from .errors import GatysError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_STORAGE_BYTES = 4 << 30  # far above any VGG19 tensor; refuses absurd declared sizes
MAX_PICKLE_BYTES = 64 << 20  # a state dict's pickle is kilobytes; refuses zip bombs
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "ByteStorage": np.uint8,
    "CharStorage": np.int8,
    "ShortStorage": np.int16,
    "IntStorage": np.int32,
    "LongStorage": np.int64,
    "BoolStorage": np.bool_,
    "UntypedStorage": np.uint8,
}


class _Storage:
    """A storage named by the pickle; its bytes are filled in after unpickling."""

    def __init__(self, dtype, key: str, numel: int):
        if dtype not in _STORAGE_DTYPES.values():
            raise pickle.UnpicklingError(f"storage {key!r} has an unsupported type")
        dtype = np.dtype(dtype)
        if not isinstance(numel, int) or not 0 <= numel * dtype.itemsize <= MAX_STORAGE_BYTES:
            raise pickle.UnpicklingError(f"storage {key!r} declares an invalid size {numel!r}")
        self.dtype, self.key, self.numel = dtype, key, numel
        self.array: np.ndarray | None = None

    def fill(self, data: bytes) -> None:
        if len(data) != self.numel * self.dtype.itemsize:
            raise GatysError(f"torch file is truncated or inconsistent: storage {self.key!r} "
                             f"holds {len(data)} bytes, not {self.numel} x {self.dtype.itemsize}")
        self.array = np.frombuffer(data, dtype=self.dtype)


class _LazyTensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def materialize(self) -> np.ndarray:
        base = self.storage.array
        if base is None:
            raise GatysError(f"torch file has no data for storage {self.storage.key!r}")
        if any(n == 0 for n in self.size):
            return np.zeros(self.size, base.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= base.size:
            raise GatysError(f"torch file is inconsistent: a tensor of size {self.size} reads "
                             f"past the end of storage {self.storage.key!r}")
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size,
            strides=[s * base.itemsize for s in self.stride], writeable=False)
        return np.array(view)


def _is_index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rebuild_tensor(storage, offset, size, stride, *_unused):
    if not (isinstance(storage, _Storage) and _is_index(offset)
            and isinstance(size, (tuple, list)) and isinstance(stride, (tuple, list))
            and len(size) == len(stride) and all(map(_is_index, size))
            and all(map(_is_index, stride))):
        raise pickle.UnpicklingError("malformed tensor record in a torch file")
    return _LazyTensor(storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"unsupported object {module}.{name} in a torch file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unsupported persistent id in a torch file")
        _, dtype, key, _location, numel = pid[:5]
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(dtype, key, numel)
        return self.storages[key]


def _unpickle(f: BinaryIO, storages: dict[str, _Storage]):
    return _Unpickler(f, storages).load()


def _materialize(obj):
    if isinstance(obj, _LazyTensor):
        return obj.materialize()
    if isinstance(obj, dict):
        return type(obj)((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def _load_legacy(f: BinaryIO) -> object:
    storages: dict[str, _Storage] = {}
    if _unpickle(f, storages) != LEGACY_MAGIC:
        raise GatysError("not a torch.save file (bad magic number)")
    _unpickle(f, storages)  # protocol version
    sys_info = _unpickle(f, storages)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", True):
        raise GatysError("big-endian or malformed torch files are not supported")
    result = _unpickle(f, storages)
    keys = _unpickle(f, storages)
    if not isinstance(keys, list):
        raise GatysError("malformed torch file: no storage list")
    for key in keys:
        storage = storages[str(key)]
        (numel,) = struct.unpack("<q", f.read(8))
        if numel != storage.numel:
            raise GatysError(f"torch file is inconsistent: storage {storage.key!r} declares "
                             f"{storage.numel} and {numel} elements")
        storage.fill(f.read(numel * storage.dtype.itemsize))
    return _materialize(result)


def _load_zip(f: BinaryIO) -> object:
    with zipfile.ZipFile(f) as archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise GatysError("zip file holds no data.pkl: not a torch.save file")
        prefix = pkl[: -len("data.pkl")]
        if archive.getinfo(pkl).file_size > MAX_PICKLE_BYTES:
            raise GatysError("torch file's data.pkl is implausibly large: refusing to unpack it")
        storages: dict[str, _Storage] = {}
        result = _unpickle(io.BytesIO(archive.read(pkl)), storages)
        for key, storage in storages.items():
            info = archive.getinfo(f"{prefix}data/{key}")
            if info.file_size != storage.numel * storage.dtype.itemsize:
                raise GatysError(f"torch file is inconsistent: storage {key!r} holds "
                                 f"{info.file_size} bytes, not {storage.numel} elements")
            storage.fill(archive.read(info))
    return _materialize(result)


def load(source: str | bytes | BinaryIO) -> object:
    """Load a `torch.save` file (path, bytes or binary file) with tensors as numpy arrays."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, str) or hasattr(source, "__fspath__"):
        with open(source, "rb") as f:
            return load(io.BytesIO(f.read()))
    try:
        if zipfile.is_zipfile(source):
            source.seek(0)
            return _load_zip(source)
        source.seek(0)
        return _load_legacy(source)
    except GatysError:
        raise
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError, IndexError, TypeError,
            ValueError, AttributeError, OverflowError, RecursionError, MemoryError,
            zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as e:
        # A restricted unpickler over untrusted bytes: any failure means a bad file.
        raise GatysError(f"cannot read torch file: {type(e).__name__}: {e}") from None
