"""Where weight files live by default.

`$GATYS_JAX_WEIGHTS_DIR` if set; else `weights/` of the source checkout this package runs
from (an editable install); else `~/.cache/gatys_jax/weights`.
"""

import os
from pathlib import Path

PLAIN_NAME = "vgg19.h5"
NORMALIZED_NAME = "vgg19_normalized.h5"


def weights_dir() -> Path:
    if os.environ.get("GATYS_JAX_WEIGHTS_DIR"):
        return Path(os.environ["GATYS_JAX_WEIGHTS_DIR"])
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "weights"
    return Path.home() / ".cache" / "gatys_jax" / "weights"


def plain_weights() -> Path:
    return weights_dir() / PLAIN_NAME


def normalized_weights() -> Path:
    return weights_dir() / NORMALIZED_NAME
