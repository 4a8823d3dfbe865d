"""The torch reader over hostile bytes: crafted records that alter a tensor after it was
checked, and valid files mutated at random. Reading either gives arrays that lie inside the
file's storages, or a GatysError: never a crash, never another exception."""

import io
import json
import pickle
import random
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatys_jax.errors import GatysError
from gatys_jax.weights import torch_pickle

from conftest import CLI
from test_hostile_inputs import _int, _tuple, _unicode, assert_one_line, tensor_pickle, zip_file
from test_weights import torch_or_skip

# ---------------------------------------------------------------- two small valid files

REBUILD = b"ctorch._utils\n_rebuild_tensor_v2\n"
# {"a": a (2, 3) view of storage "0" at offset 2 with row stride 4, "b": all of storage "1"}
STORAGES = {"0": np.arange(12, dtype=np.float32), "1": np.arange(100, 106, dtype=np.float32)}
EXPECTED = {"a": np.array([[2, 3, 4], [6, 7, 8]], np.float32), "b": STORAGES["1"]}


def record(key: str, offset: int, size: tuple, stride: tuple, legacy: bool) -> bytes:
    """Pickle opcodes of one `_rebuild_tensor_v2` call over float storage `key`."""
    numel = STORAGES[key].size
    pid = _tuple(_unicode("storage") + b"ctorch\nFloatStorage\n" + _unicode(key)
                 + _unicode("cpu") + _int(numel) + (b"N" if legacy else b"")) + b"Q"
    return REBUILD + _tuple(pid + _int(offset) + _tuple(b"".join(map(_int, size)))
                            + _tuple(b"".join(map(_int, stride))) + b"\x89}") + b"R"


def state_dict_pickle(legacy: bool) -> bytes:
    """An OrderedDict with a `_metadata` attribute (set by BUILD), as torch pickles a state dict."""
    items = (_unicode("a") + record("0", 2, (2, 3), (4, 1), legacy)
             + _unicode("b") + record("1", 0, (6,), (1,), legacy))
    metadata = b"}(" + _unicode("_metadata") + b"}u"
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + items + b"u" + metadata + b"b."


def zip_torch_file(data_pkl: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
        for key, values in STORAGES.items():
            archive.writestr(f"archive/data/{key}", values.tobytes())
    return buffer.getvalue()


def legacy_torch_file() -> bytes:
    header = [torch_pickle.LEGACY_MAGIC, 1001,
              {"protocol_version": 1001, "little_endian": True,
               "type_sizes": {"short": 2, "int": 4, "long": 4}}]
    return (b"".join(pickle.dumps(part, protocol=2) for part in header)
            + state_dict_pickle(legacy=True) + pickle.dumps(list(STORAGES), protocol=2)
            + b"".join(struct.pack("<q", values.size) + values.tobytes()
                       for values in STORAGES.values()))


ZIP_PICKLE = state_dict_pickle(legacy=False)
ZIP_FILE = zip_torch_file(ZIP_PICKLE)
LEGACY_FILE = legacy_torch_file()


@pytest.mark.parametrize("data", [ZIP_FILE, LEGACY_FILE], ids=["zip", "legacy"])
def test_the_base_files_read_back_exactly(data):
    loaded = torch_pickle.load(data)
    assert list(loaded) == ["a", "b"]
    for name, expected in EXPECTED.items():
        np.testing.assert_array_equal(loaded[name], expected)


@pytest.mark.torch
@pytest.mark.parametrize("data", [ZIP_FILE, LEGACY_FILE], ids=["zip", "legacy"])
def test_torch_reads_the_base_files_alike(data):
    torch = torch_or_skip()
    loaded = torch.load(io.BytesIO(data), weights_only=True)
    assert list(loaded) == ["a", "b"]
    for name, expected in EXPECTED.items():
        np.testing.assert_array_equal(loaded[name].numpy(), expected)


# ---------------------------------------------------------------- records altered once made


def build(pickle_bytes: bytes, state: dict) -> bytes:
    """`pickle_bytes` (tensor_pickle's) with BUILD applying `state` to the tensor record."""
    assert pickle_bytes.endswith(b"Ru.")
    items = b"".join(_unicode(name) + (_int(value) if isinstance(value, int)
                                       else _tuple(b"".join(map(_int, value))))
                     for name, value in state.items())
    return pickle_bytes[:-len(b"u.")] + b"}(" + items + b"ub" + b"u."


def crafted(state: dict) -> bytes:
    """A zip torch file whose one tensor record BUILD alters with `state`."""
    return zip_file(build(tensor_pickle(4, 0, (4,), (1,)), state), bytes(16))


ALTERATIONS = [
    {"size": (4096,), "stride": (-1,)},  # reads the heap before the storage
    {"stride": (-100000000,)},  # reads unmapped memory: a segfault
    {"size": (4096,)},
    {"offset": 8},
]


@pytest.mark.parametrize("state", ALTERATIONS)
def test_a_tensor_record_cannot_be_altered_after_its_checks(state):
    with pytest.raises(GatysError, match="takes no state"):
        torch_pickle.load(crafted(state))


def test_slot_state_storages_and_the_rebuild_callable_take_no_state():
    valid = tensor_pickle(4, 0, (4,), (1,))
    slot_state = valid[:-len(b"u.")] + b"N}(" + _unicode("stride") + _tuple(_int(-1)) + b"u\x86bu."
    storage_state = valid.replace(b"Q", b"Q}(" + _unicode("numel") + _int(8) + b"ub", 1)
    callable_state = valid.replace(REBUILD, REBUILD + b"}(" + _unicode("x") + _int(1) + b"ub", 1)
    for data, storage in ((slot_state, 16), (storage_state, 32), (callable_state, 16)):
        with pytest.raises(GatysError, match="takes no state"):
            torch_pickle.load(zip_file(data, bytes(storage)))


@pytest.mark.parametrize("offset, size, stride", [
    (0, (4096,), (-1,)),  # every element before the storage
    (3, (5,), (-1,)),  # the last one before it
    (0, (2, 2), (-1, 1)),  # a negative stride that the last element hides
    (1, (2, 2), (3, -1)),  # the last element inside, a middle one past the end
])
def test_materialize_checks_every_element_whatever_made_the_record(offset, size, stride):
    storage = torch_pickle._Storage(np.float32, "0", 4)
    storage.fill(np.arange(4, dtype=np.float32).tobytes())
    tensor = object.__new__(torch_pickle._LazyTensor)
    for name, value in dict(storage=storage, offset=offset, size=size, stride=stride).items():
        object.__setattr__(tensor, name, value)
    with pytest.raises(GatysError, match="before the start or past the end of storage"):
        tensor.materialize(torch_pickle.MAX_BYTES)


def test_views_that_repeat_a_storage_are_bounded_together():
    data = zip_file(tensor_pickle(1, 0, (600, 1000), (0, 0)), bytes(4))
    with mock.patch.object(torch_pickle, "MAX_BYTES", 1 << 20):
        with pytest.raises(GatysError, match="together"):
            torch_pickle.load(data)
    assert torch_pickle.load(data)["w"].shape == (600, 1000)  # a broadcast view, as torch saves it


def test_a_large_memo_index_claims_no_memory():
    """A pickle's memo holds what it names, not a table up to the largest index named."""
    tracemalloc.start()
    try:
        assert torch_pickle.load(zip_file(b"\x80\x02Nr\x00\x00\x00\x04.", b"")) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak


@pytest.mark.parametrize("field, value", [(8, 1), (10, 99)],
                         ids=["encrypted", "unknown compression"])
def test_a_zip_directory_that_zipfile_cannot_follow_is_refused(field, value):
    data = bytearray(ZIP_FILE)
    entry = data.index(b"PK\x01\x02")  # the directory's first entry: data.pkl's
    data[entry + field] = value
    with pytest.raises(GatysError, match="cannot read torch file"):
        torch_pickle.load(bytes(data))


@pytest.mark.subprocess
def test_a_crafted_record_does_not_crash_the_cli(tmp_path):
    source = tmp_path / "crafted.pth"
    source.write_bytes(crafted(ALTERATIONS[1]))
    result = subprocess.run(CLI + ["weights", "convert", str(source), "-o", str(tmp_path / "x.h5")],
                            capture_output=True, text=True, timeout=120)
    assert_one_line(result.returncode, result.stderr, "torch file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crafted.pth"]


# ---------------------------------------------------------------- random mutations

TOKENS = [b"b", b"R", b"Q", b"}", b"]", b")", b"(", b"t", b"u", b"s", b"a", b"e", b"0", b"2",
          b"N", b"\x85", b"\x86", b"\x87", b"h\x00", b"h\x01", b"J\xff\xff\xff\xff",
          b"J\x00\x00\x00\x80", b"J\x00\x10\x00\x00", b"\x8a\x08" + b"\xff" * 8,
          b"\x8a\x01\x80", REBUILD, b"ctorch\nDoubleStorage\n", b"ctorch\nByteStorage\n"]
# where: from the start, or (negative) from the end, where a zip file's directory lies; the
# files are about a kilobyte
PLACES = st.integers(-1024, 1024)
OPERATIONS = st.one_of(
    st.tuples(st.just("flip"), PLACES, st.integers(0, 7)),
    st.tuples(st.just("set"), PLACES, st.integers(0, 255)),
    st.tuples(st.just("insert"), PLACES,
              st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=9)),
    st.tuples(st.just("delete"), PLACES, st.integers(1, 9)),
    st.tuples(st.just("truncate"), PLACES, st.none()),
)
MUTATIONS = st.lists(OPERATIONS, min_size=1, max_size=6)
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def mutate(data: bytes, operations) -> bytes:
    data = bytearray(data)
    for operation, at, argument in operations:
        at %= len(data) + 1
        if operation == "flip" and at < len(data):
            data[at] ^= 1 << argument
        elif operation == "set" and at < len(data):
            data[at] = argument
        elif operation == "insert":
            data[at:at] = argument
        elif operation == "delete":
            del data[at:at + argument]
        elif operation == "truncate":
            del data[at:]
    return bytes(data)


def arrays_of(value):
    """Every array in a loaded structure; fails on a record the reader left unread."""
    assert not isinstance(value, (torch_pickle._LazyTensor, torch_pickle._Storage)), value
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from arrays_of(key)
            yield from arrays_of(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from arrays_of(item)


def assert_read_safely(data: bytes) -> None:
    """`data` reads as arrays that are owned copies of a storage type, every element of which
    is found in the file's bytes (nothing is read from outside it), or it is refused with a
    GatysError."""
    with mock.patch.object(torch_pickle, "MAX_BYTES", 1 << 20):  # keeps every example small
        try:
            loaded = torch_pickle.load(data)
        except GatysError:
            return
    storage_types = set(map(np.dtype, torch_pickle._STORAGE_DTYPES.values()))
    for array in arrays_of(loaded):
        assert array.flags.owndata and array.dtype in storage_types, array
        elements = np.unique(array.reshape(-1).view(f"u{array.itemsize}"))
        assert all(element.tobytes() in data for element in elements), array


@FUZZ
@given(MUTATIONS)
def test_a_mutated_zip_file_is_read_safely(operations):
    assert_read_safely(mutate(ZIP_FILE, operations))


@FUZZ
@given(MUTATIONS)
def test_a_mutated_pickle_in_a_whole_zip_file_is_read_safely(operations):
    assert_read_safely(zip_torch_file(mutate(ZIP_PICKLE, operations)))


@FUZZ
@given(MUTATIONS)
def test_a_mutated_legacy_file_is_read_safely(operations):
    assert_read_safely(mutate(LEGACY_FILE, operations))


CLI_BATCH = """
import contextlib, io, json, sys
from gatys_jax import cli
results = []
for source in sys.argv[1:]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["weights", "convert", source, "-o", source + ".h5"])
    results.append([code, err.getvalue()])
print(json.dumps(results))
"""


@pytest.mark.subprocess
def test_mutated_files_through_the_cli_are_one_line_errors(tmp_path):
    """A batch of crafted and mutated files in one real process: a crash would end it."""
    rng = random.Random(0)
    arguments = {"flip": lambda: rng.randrange(8), "set": lambda: rng.randrange(256),
                 "insert": lambda: rng.choice(TOKENS), "delete": lambda: rng.randint(1, 9)}
    sources = []
    for i in range(40):
        base = ZIP_FILE if i % 2 else LEGACY_FILE
        operations = [(op, rng.randrange(-1024, 1024), arguments[op]())
                      for op in rng.choices(list(arguments), k=rng.randint(1, 4))]
        source = tmp_path / f"m{i}.pth"
        source.write_bytes(mutate(base, operations))
        sources.append(str(source))
    for i, state in enumerate(ALTERATIONS):
        source = tmp_path / f"c{i}.pth"
        source.write_bytes(crafted(state))
        sources.append(str(source))
    result = subprocess.run([sys.executable, "-c", CLI_BATCH, *sources], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads(result.stdout)
    assert len(results) == len(sources)
    for code, err in results:
        assert_one_line(code, err)
    assert sorted(str(p) for p in tmp_path.iterdir()) == sorted(sources)
