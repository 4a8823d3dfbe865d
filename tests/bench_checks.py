"""What the benchmark tests share: torch as a prerequisite, torch's thread count kept, and the
checks of the files the benchmarks write."""

import csv
import importlib.util
from pathlib import Path

import pytest

from conftest import require

PNG = b"\x89PNG\r\n\x1a\n"
FIRST_LOSS_RTOL = 1e-4


def need_torch():
    """Skip without torch outside CI; in CI a missing torch fails (conftest.require)."""
    require(importlib.util.find_spec("torch") is not None,
            "torch is not installed (pip install -e '.[torch]')")


@pytest.fixture
def torch_threads():
    """The benchmarks set torch's thread count in this process: restore it afterwards."""
    need_torch()
    import torch
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def assert_png(path: Path):
    assert path.is_file() and path.read_bytes()[:8] == PNG, path
