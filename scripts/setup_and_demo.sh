#!/usr/bin/env bash
# Set up everything on a fresh machine and run the demo: bash scripts/setup_and_demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
.venv/bin/gatys-jax weights fetch
[ -f weights/vgg19_normalized.h5 ] || .venv/bin/gatys-jax weights normalize
.venv/bin/gatys-jax demo -o out/demo
