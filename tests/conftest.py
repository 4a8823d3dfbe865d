"""Shared fixtures: sample images beside the project, real weights when fetched, tiny networks."""

import os
from pathlib import Path

import numpy as np
import pytest

from gatys_jax import paths
from gatys_jax.weights import CAFFE, LAYERS, VGGWeights, kernel_shape

SHARED_IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "images"
IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str):
    """Skip outside CI when a prerequisite is missing; in CI, fail instead."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_images() -> Path:
    require(SHARED_IMAGES.is_dir(), f"sample images not found at {SHARED_IMAGES}")
    return SHARED_IMAGES


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
