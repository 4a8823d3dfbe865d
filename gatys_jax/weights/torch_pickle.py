"""Read `torch.save` files (legacy and zip formats) into numpy arrays, without torch.

Only what weight files need: dicts, lists and tuples of dense tensors and plain values. Every
pickle in the file, the legacy format's header included, goes through one restricted
unpickler that resolves only the few names a tensor file uses (`_rebuild_tensor_v2`,
`OrderedDict`, the storage types), so reading a file never runs code from it. Its tensor records
and storages take no state after they are made; every element of a tensor is checked to lie in
its storage before a view is made, and every storage's length against what the file declares,
so a crafted file cannot read outside them.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import struct
import zipfile
from typing import BinaryIO

import numpy as np

from gatys_jax.errors import GatysError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# far above VGG19 (550 MB): the most a file's storages, and the arrays read out of them, may
# hold (each together); refuses absurd declared sizes and views that repeat a storage
MAX_BYTES = 4 << 30
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


def _refuse_state(*_args):
    """BUILD sets state on the object the pickle just made; a record of this reader takes none,
    so that nothing alters a record after its checks."""
    raise pickle.UnpicklingError("a tensor record or storage in a torch file takes no state")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_index(value) -> bool:
    return _is_int(value) and value >= 0


def _well_typed(storage, offset, size: tuple, stride: tuple, number=_is_index) -> bool:
    """A tensor record's fields: a storage, an offset and strides that pass `number`, and
    sizes that are indices, as many as the strides."""
    return (isinstance(storage, _Storage) and number(offset) and isinstance(size, tuple)
            and isinstance(stride, tuple) and len(size) == len(stride)
            and all(map(_is_index, size)) and all(map(number, stride)))


class _Storage:
    """A storage named by the pickle; its bytes are filled in after unpickling."""

    __slots__ = ("dtype", "key", "numel", "array")
    __setstate__ = _refuse_state
    __hash__ = None  # never a dict key or set member, where reading would not reach it

    def __init__(self, dtype, key: str, numel: int):
        if dtype not in _STORAGE_DTYPES.values():
            raise pickle.UnpicklingError(f"storage {key!r} has an unsupported type")
        dtype = np.dtype(dtype)
        if not _is_index(numel) or numel * dtype.itemsize > MAX_BYTES:
            raise pickle.UnpicklingError(f"storage {key!r} declares an invalid size {numel!r}")
        self.dtype, self.key, self.numel = dtype, key, numel
        self.array: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def fill(self, data: bytes) -> None:
        if len(data) != self.nbytes:
            raise GatysError(f"torch file is truncated or inconsistent: storage {self.key!r} "
                             f"holds {len(data)} bytes, not {self.numel} x {self.dtype.itemsize}")
        self.array = np.frombuffer(data, dtype=self.dtype)


class _LazyTensor:
    """A tensor record (`torch._utils._rebuild_tensor_v2`'s arguments), read out of its
    storage by `materialize`. __new__, which every opcode that makes an object calls, checks
    it and refuses the negative offsets and strides torch never writes."""

    __slots__ = ("storage", "offset", "size", "stride")
    __setstate__ = _refuse_state
    __hash__ = None

    def __new__(cls, storage, offset, size, stride, *_unused):
        size, stride = (tuple(v) if isinstance(v, list) else v for v in (size, stride))
        if not _well_typed(storage, offset, size, stride):
            raise pickle.UnpicklingError("malformed tensor record in a torch file")
        tensor = super().__new__(cls)
        tensor.storage, tensor.offset, tensor.size, tensor.stride = storage, offset, size, stride
        return tensor

    def materialize(self, room: int) -> np.ndarray:
        """An array of its own, made only once every element the record names, for strides
        of either sign, lies inside its storage, and the array fits in `room` bytes."""
        storage, offset, size, stride = self.storage, self.offset, self.size, self.stride
        if not _well_typed(storage, offset, size, stride, number=_is_int):
            raise GatysError("torch file holds a malformed tensor record")
        base = storage.array
        if base is None:
            raise GatysError(f"torch file has no data for storage {storage.key!r}")
        count = math.prod(size)
        reach = [(n - 1) * s for n, s in zip(size, stride)]
        first = offset + sum(r for r in reach if r < 0)
        last = offset + sum(r for r in reach if r > 0)
        if count and not 0 <= first <= last < base.size:
            raise GatysError(f"torch file is inconsistent: a tensor of size {size} reads before "
                             f"the start or past the end of storage {storage.key!r}")
        if count * base.itemsize > room:
            raise GatysError("torch file's tensors hold more than "
                             f"{MAX_BYTES >> 30} GiB together: refusing to read them")
        if not count:
            return np.zeros(size, base.dtype)
        view = np.lib.stride_tricks.as_strided(
            base[offset:], shape=size, strides=[s * base.itemsize for s in stride],
            writeable=False)
        return np.array(view)


class _Unpickler(pickle._Unpickler):
    """The pure-Python unpickler, restricted. Its memo is a dict; the C one's is a table as
    long as the largest memo index a pickle names, so that a few bytes can claim gigabytes.
    A weight file's pickles are kilobytes: the speed of C is not needed."""

    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _LazyTensor
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


def _materialize(result):
    """`result` with its tensor records read into arrays, each record once however often the
    pickle names it, all of them within MAX_BYTES."""
    read: dict[int, np.ndarray] = {}  # id of a record -> its array
    room = MAX_BYTES

    def walk(obj):
        nonlocal room
        if isinstance(obj, _LazyTensor):
            if id(obj) not in read:
                read[id(obj)] = obj.materialize(room)
                room -= read[id(obj)].nbytes
            return read[id(obj)]
        if isinstance(obj, _Storage):
            raise GatysError(f"torch file holds storage {obj.key!r} bare, not as a tensor")
        if isinstance(obj, dict):
            return type(obj)((k, walk(v)) for k, v in obj.items())
        if isinstance(obj, (list, tuple)):
            return type(obj)(walk(v) for v in obj)
        return obj

    return walk(result)


def _check_total(storages: dict[str, _Storage]) -> None:
    """Before any storage is read: refuse storages larger together than weights can be."""
    total = sum(storage.nbytes for storage in storages.values())
    if total > MAX_BYTES:
        raise GatysError(f"torch file declares {total} bytes of storages, implausibly many "
                         "for weights: refusing to read them")


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
    _check_total(storages)
    for key in keys:
        storage = storages[str(key)]
        (numel,) = struct.unpack("<q", f.read(8))
        if numel != storage.numel:
            raise GatysError(f"torch file is inconsistent: storage {storage.key!r} declares "
                             f"{storage.numel} and {numel} elements")
        storage.fill(f.read(storage.nbytes))
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
        _check_total(storages)
        for key, storage in storages.items():
            info = archive.getinfo(f"{prefix}data/{key}")
            if info.file_size != storage.nbytes:
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
    except Exception as e:
        # Untrusted bytes through zipfile, its decompressors, a restricted unpickler and
        # numpy, which raise many types on damaged input: any failure means a bad file.
        raise GatysError(f"cannot read torch file: {type(e).__name__}: {e}") from None
