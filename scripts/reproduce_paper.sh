#!/usr/bin/env bash
# Regenerate the paper's figures and measure their claims: bash scripts/reproduce_paper.sh [--size N] [...]
# Runs scripts/paper/{fig1_content,fig1_style,fig3,fig4,fig5,init}.py in turn, each writing a
# grid.png, its single images and a metrics.json into results/<name>/, then writes
# results/claims.md (the table of measured claims). Every argument goes to every script:
#   --size N (long side, default 256; 512 on a GPU), --iterations N (overrides each script's
#   default), --out DIR (default results), --images DIR (default ../shared/images), --weights FILE.
# ONLY="fig3 fig4" runs a subset. A script that fails is reported and the others still run;
# the exit status is then 1.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
start=$SECONDS
failed=()
for name in ${ONLY:-fig1_content fig1_style fig3 fig4 fig5 init}; do
    echo "== $name" >&2
    t=$SECONDS
    if "$PYTHON" scripts/paper/$name.py "$@"; then
        echo "== $name took $((SECONDS - t)) s" >&2
    else
        echo "== $name FAILED after $((SECONDS - t)) s" >&2
        failed+=("$name")
    fi
done
"$PYTHON" scripts/paper/summary.py "$@" || failed+=(summary)
echo "== all done in $((SECONDS - start)) s" >&2
if [ ${#failed[@]} -gt 0 ]; then
    echo "== failed: ${failed[*]}" >&2
    exit 1
fi
