"""The layering of the package, as the import contracts in pyproject.toml state it."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.subprocess
def test_the_import_contracts_hold():
    """Families below the pipeline, siblings independent, the CLI on top (lint-imports)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.subprocess
def test_the_settings_import_no_heavy_library():
    """StyleConfig is plain settings: importing it pulls in neither optax, h5py nor flax."""
    code = ("import sys, gatys_jax.config; "
            "print(sorted(m for m in ('optax', 'h5py', 'flax') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.subprocess
def test_the_package_exports_the_functions_however_it_was_imported():
    """gatys_jax.stylize stays the function after the module defining it is imported."""
    code = ("import gatys_jax.transfer, gatys_jax.cli, gatys_jax; "
            "print(callable(gatys_jax.stylize) and gatys_jax.stylize.__name__, "
            "gatys_jax.StyleConfig.__name__)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.split() == ["stylize", "StyleConfig"], result.stderr


def test_functions_and_modules_stay_short():
    """Every function of the package and its scripts fits on a screen (60 lines) and every
    module holds one idea (400 lines): a longer one is split into named steps."""
    import ast
    long = []
    for folder in ("gatys_jax", "lab", "benchmarks", "paper"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            if text.count("\n") > 400:
                long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
            long += [f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: "
                     f"{node.end_lineno - node.lineno + 1} lines"
                     for node in ast.walk(ast.parse(text))
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and node.end_lineno - node.lineno + 1 > 60]
    assert not long, "\n".join(long)
