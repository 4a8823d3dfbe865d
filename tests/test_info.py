"""`gatys-jax info`, and the dependency bounds pyproject.toml states against what is installed."""

import importlib.metadata
import json
import os
import subprocess
import tomllib
from pathlib import Path

import jax
import pytest
from packaging.requirements import Requirement

from gatys_jax import cli
from gatys_jax.io import paths

from conftest import CLI, CONTENT, STYLE

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
BOUNDED = ("jax", "jaxlib", "flax", "optax", "numpy")  # those whose API moves under us


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_the_installed_packages_satisfy_the_stated_bounds():
    """Every core dependency is installed within its range, so that the range is the one
    the tests ran with; so is every package of an extra that is installed."""
    requirements = [Requirement(text) for text in project()["dependencies"]]
    for requirement in requirements:
        version = installed(requirement.name)
        assert version is not None, f"{requirement.name} is not installed"
        assert requirement.specifier.contains(version, prereleases=True), (
            str(requirement), version)
    for extra, texts in project()["optional-dependencies"].items():
        for requirement in map(Requirement, texts):
            version = installed(requirement.name)
            if version is not None:
                assert requirement.specifier.contains(version, prereleases=True), (
                    extra, str(requirement), version)


def test_the_core_is_bounded_above_and_the_accelerators_follow_it():
    core = {requirement.name: requirement
            for requirement in map(Requirement, project()["dependencies"])}
    for name in BOUNDED:
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in core[name].specifier), (
            f"{name} has no upper bound: {core[name]}")
    extras = project()["optional-dependencies"]
    for accelerator in ("cuda12", "cuda13", "tpu"):
        (requirement,) = map(Requirement, extras[accelerator])
        assert requirement.name == "jax" and requirement.extras == {accelerator}
        assert requirement.specifier == core["jax"].specifier, (accelerator, str(requirement))


def test_info_as_json(capsys):
    assert cli.main(["info", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert set(found) == {"backend", "devices", "compile_cache", "versions", "environment"}
    assert found["backend"] == jax.default_backend()  # cpu on the test machines
    assert len(found["devices"]) == jax.device_count()
    for device in found["devices"]:
        assert set(device) == {"id", "kind", "platform", "process", "memory"}
        assert device["platform"] == found["backend"]
        # a CPU device reports no memory of its own: the host's stands in
        source = "host" if device["platform"] == "cpu" else "device"
        assert device["memory"]["source"] == source and device["memory"]["total_bytes"] > 2**28
    cache = found["compile_cache"]
    assert cache["folder"] == str(paths.compilation_cache_dir()) and cache["enabled"] is True
    versions = found["versions"]
    assert list(versions)[:6] == ["gatys-jax", "jax", "jaxlib", "flax", "optax", "numpy"]
    assert versions["jax"] == importlib.metadata.version("jax") and "python" in versions


def test_info_as_lines(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"gatys-jax {importlib.metadata.version('gatys-jax')}, jax ")
    device = jax.devices()[0]
    assert f"backend: {jax.default_backend()}, {jax.device_count()} device(s)\n" in out
    assert f"device {device.id}: {device.device_kind} (platform {device.platform}, " in out
    assert f"compile cache: {paths.compilation_cache_dir()} (" in out


@pytest.mark.subprocess
@pytest.mark.parametrize("platforms, command", [("nosuchbackend", "info"), ("cuda", "info"),
                                                ("cuda", "stylize")])
def test_a_backend_jax_cannot_start_is_one_line(tmp_path, platforms, command):
    if platforms == "cuda" and (installed("jax-cuda12-plugin") or installed("jax-cuda13-plugin")):
        pytest.skip("the CUDA plugin is installed")
    argv = (["info"] if command == "info"
            else ["stylize", CONTENT, STYLE, "-o", str(tmp_path / "new" / "out.png"), "-q"])
    result = subprocess.run([*CLI, *argv], env={**os.environ, "JAX_PLATFORMS": platforms},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert list(tmp_path.iterdir()) == []
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"JAX cannot start the backend (JAX_PLATFORMS='{platforms}')" in result.stderr
