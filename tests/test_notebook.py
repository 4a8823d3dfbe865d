"""examples/quickstart.ipynb runs top to bottom, at a tiny size, in a fresh Jupyter kernel."""

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from conftest import require

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
TINY = {"SIZE": 32, "ITERATIONS": 3}
FIGURES = 3  # steps 1, 2 and 3 show one each; step 4 prints a table


def _jupyter(*modules: str) -> list:
    """The Jupyter modules (imported) once they and the kernel, ipykernel, are installed."""
    for package in {module.split(".")[0] for module in modules} | {"ipykernel"}:
        require(importlib.util.find_spec(package) is not None,
                f"{package} missing: pip install -e '.[dev]'")
    return [importlib.import_module(module) for module in modules]


def _parameters_cell(notebook):
    """The first code cell, which must set every parameter the test overrides."""
    cell = next(cell for cell in notebook.cells if cell.cell_type == "code")
    for name in TINY:
        assert re.search(rf"^{name} = ", cell.source, re.M), f"no {name} in the first code cell"
    return cell


def _tiny(source: str) -> str:
    """The parameters cell with TINY's values in place of its own (where they are set, so
    that what the cell derives from them follows)."""
    for name, value in TINY.items():
        source = re.sub(rf"^{name} = .*$", f"{name} = {value!r}", source, count=1, flags=re.M)
    return source


def test_notebook_has_no_outputs():
    """The notebook is committed clean: no outputs or execution counts."""
    (nbformat,) = _jupyter("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    _parameters_cell(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow
@pytest.mark.subprocess
def test_quickstart_runs(plain_weights_path):
    nbclient, nbformat, kernelspec, manager = _jupyter(
        "nbclient", "nbformat", "jupyter_client.kernelspec", "jupyter_client.manager")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cell = _parameters_cell(notebook)
    cell.source = _tiny(cell.source)
    # "python3" from ipykernel itself, never from an installed kernelspec (one in ~/.local
    # may name another Python): the kernel is this interpreter, with this environment
    kernel = manager.AsyncKernelManager(
        kernel_name="python3", kernel_spec_manager=kernelspec.KernelSpecManager(kernel_dirs=[]))
    client = nbclient.NotebookClient(notebook, km=kernel, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on an error

    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    pngs = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(pngs) == FIGURES, f"{len(pngs)} figures, expected {FIGURES}"
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "style distance" in text and "50/50 cross-fade" in text
