"""Where weight files and compiled programs live by default.

Weights: `$GATYS_JAX_WEIGHTS_DIR` if set; else `weights/` of the source checkout this package
runs from (an editable install); else `~/.cache/gatys_jax/weights`. Compiled programs (the
CLI's XLA cache): `$JAX_COMPILATION_CACHE_DIR` if set, else `~/.cache/gatys_jax/xla`.
"""

import os
from pathlib import Path

PLAIN_NAME = "vgg19.h5"
NORMALIZED_NAME = "vgg19_normalized.h5"


def weights_dir() -> Path:
    if os.environ.get("GATYS_JAX_WEIGHTS_DIR"):
        return Path(os.environ["GATYS_JAX_WEIGHTS_DIR"])
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "weights"
    return Path.home() / ".cache" / "gatys_jax" / "weights"


def compilation_cache_dir() -> Path:
    return Path(os.environ.get("JAX_COMPILATION_CACHE_DIR")
                or Path.home() / ".cache" / "gatys_jax" / "xla")


def plain_weights() -> Path:
    return weights_dir() / PLAIN_NAME


def normalized_weights() -> Path:
    return weights_dir() / NORMALIZED_NAME
