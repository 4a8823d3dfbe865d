"""A run's record: what a metrics file needs for the run to be replayed and checked: every
input (its source, the sha256 of its pixels, its size), the weights' digest, the versions of
the package and of the libraries it computes with, the git commit of a checkout, the command
line, the backend and the devices.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from gatys_jax.io import inputs
from gatys_jax.weights.h5 import DIGEST, VGGWeights

LIBRARIES = ("gatys-jax", "jax", "jaxlib", "flax", "optax", "numpy")


def pixels_sha256(rgb: np.ndarray) -> str:
    """SHA-256 of an image's pixels as a run reads them: float32 RGB (H, W, 3), C order."""
    return hashlib.sha256(np.ascontiguousarray(rgb, np.float32).tobytes()).hexdigest()


def source_name(source) -> str | None:
    """A path or sample name as text; None for an array (nothing to read it back from)."""
    return str(source) if isinstance(source, (str, Path)) else None


def input_entry(role: str, source, rgb: np.ndarray) -> dict:
    """One input of a run: its role (content, style, content mask, style mask), the path or
    sample name it came from (None for an array), the sha256 of its pixels and its size."""
    return {"role": role, "source": source_name(source),
            "sample": inputs.is_sample(source), "pixels_sha256": pixels_sha256(rgb),
            "size": [int(rgb.shape[0]), int(rgb.shape[1])]}


def versions() -> dict[str, str | None]:
    """The installed version of the package and of each library it computes with."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_commit() -> str | None:
    """The commit of the checkout the package runs from (with "+dirty" when files differ
    from it), or None outside a git checkout or without git."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        run = lambda *args: subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                           text=True, timeout=10)
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        dirty = run("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def devices() -> dict:
    """The backend and the devices the run computed on."""
    return {"backend": jax.default_backend(),
            "devices": [{"kind": d.device_kind, "platform": d.platform, "id": d.id}
                        for d in jax.devices()],
            "processes": jax.process_count()}


def run_record(inputs_read: list[dict], vgg: VGGWeights, weights_file) -> dict:
    """The record of a run: `inputs_read` (input_entry per input), the weights (the file, or
    None for weights given as an object, and the digest of their data), versions, the git
    commit, argv, backend and devices."""
    return {"inputs": inputs_read,
            "weights": {"file": None if weights_file is None else str(weights_file),
                        "data_sha256": vgg.metadata.get(DIGEST),
                        "source": vgg.metadata.get("source")},
            "versions": versions(), "git_commit": git_commit(), "argv": list(sys.argv),
            **devices()}
