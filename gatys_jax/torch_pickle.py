"""Read `torch.save` files (legacy and zip formats) into numpy arrays, without torch.

Only what weight files need: dicts of dense tensors. Tensors are rebuilt through
`torch._utils._rebuild_tensor_v2`; any other global is refused, so reading a file
never runs code from it.
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
}


class _Storage:
    """A storage named by the pickle; its bytes are filled in after unpickling."""

    def __init__(self, dtype: np.dtype, key: str, numel: int):
        self.dtype, self.key, self.numel = np.dtype(dtype), key, numel
        self.array: np.ndarray | None = None


class _LazyTensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def materialize(self) -> np.ndarray:
        base = self.storage.array
        if len(self.size) == 0:
            return base[self.offset].copy()
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=[s * item for s in self.stride]
        )
        return np.array(view)


def _rebuild_tensor(storage, offset, size, stride, *_unused):
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
        if module == "torch" and name == "UntypedStorage":
            return np.uint8
        raise pickle.UnpicklingError(f"unsupported object {module}.{name} in a torch file")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel = pid[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {kind!r}")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(dtype, key, numel)
        return self.storages[key]


def _materialize(obj):
    if isinstance(obj, _LazyTensor):
        return obj.materialize()
    if isinstance(obj, dict):
        return {k: _materialize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def _load_legacy(f: BinaryIO) -> object:
    magic = pickle.load(f)
    if magic != LEGACY_MAGIC:
        raise GatysError("not a torch.save file (bad magic number)")
    pickle.load(f)  # protocol version
    sys_info = pickle.load(f)
    if not sys_info.get("little_endian", True):
        raise GatysError("big-endian torch files are not supported")
    storages: dict[str, _Storage] = {}
    result = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        storage = storages[str(key)]
        (numel,) = struct.unpack("<q", f.read(8))
        nbytes = numel * storage.dtype.itemsize
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise GatysError("torch file is truncated")
        storage.array = np.frombuffer(data, dtype=storage.dtype)
    return _materialize(result)


def _load_zip(f: BinaryIO) -> object:
    with zipfile.ZipFile(f) as archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise GatysError("zip file holds no data.pkl: not a torch.save file")
        prefix = pkl[: -len("data.pkl")]
        storages: dict[str, _Storage] = {}
        result = _Unpickler(io.BytesIO(archive.read(pkl)), storages).load()
        for key, storage in storages.items():
            data = archive.read(f"{prefix}data/{key}")
            array = np.frombuffer(data, dtype=storage.dtype)
            storage.array = array
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
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError, zipfile.BadZipFile) as e:
        raise GatysError(f"cannot read torch file: {e}") from None
