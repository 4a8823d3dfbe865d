"""One measurement in a fresh Python process, `python -m MODULE --child JSON`, so that the peak
memory of one measurement holds nothing of another's: the parent's side (`run`) and the
child's (`add_argument`, `answer`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable

from gatys_jax.config import StyleConfig
from lab import script


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a child process gave back."""

    result: dict | None  # the child's JSON; None when it failed
    stderr: str

    @property
    def error(self) -> str:
        """The last line of the child's stderr: why it failed."""
        return (self.stderr.strip().splitlines() or ["no output"])[-1]


def config_json(config: StyleConfig) -> dict:
    """The settings as JSON, to hand them to a fresh process (StyleConfig(**them))."""
    return {k: v for k, v in config.to_json().items() if k != "layer_weights"}


def add_argument(parser: argparse.ArgumentParser) -> None:
    """--child JSON (hidden): the measurement this process is to make, and nothing else."""
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)


def answer(spec: str, child: Callable[[dict], dict]) -> int:
    """The child's side: `child` of the JSON `spec`, printed as the last line of stdout."""
    print(json.dumps(child(json.loads(spec))))
    return 0


def run(module: str, spec: dict) -> Answer:
    """`python -m module --child JSON(spec)` in a fresh interpreter from the repository root.
    JAX allocates device memory as the program needs it (no preallocation), so that the
    device's peak is the program's."""
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    proc = subprocess.run([sys.executable, "-m", module, "--child", json.dumps(spec)],
                          capture_output=True, text=True, env=env, cwd=script.ROOT, check=False)
    lines = proc.stdout.strip().splitlines()
    ok = proc.returncode == 0 and lines
    return Answer(json.loads(lines[-1]) if ok else None, proc.stderr)
