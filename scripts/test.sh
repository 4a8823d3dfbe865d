#!/usr/bin/env bash
# Set up everything the tests need, then run them: bash scripts/test.sh [pytest args]
# Creates .venv (if missing) with the package, its dev extra and the torch extra (the pinned
# CPU wheel), fetches and normalizes the VGG19 weights (once), and runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev,torch]'
.venv/bin/gatys-jax weights fetch
[ -f weights/vgg19_normalized.h5 ] || .venv/bin/gatys-jax weights normalize
# Compiled programs are shared between tests (and their CLI subprocesses) through XLA's cache.
export JAX_COMPILATION_CACHE_DIR="$PWD/.cache/xla"
# Two workers, each taking whole test files: one compiles (single-threaded) while the other
# computes. PYTEST_WORKERS=0 runs everything in this process.
exec .venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=25 "$@"
