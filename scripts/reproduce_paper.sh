#!/usr/bin/env bash
# Regenerate the paper's figures and measure their claims: bash scripts/reproduce_paper.sh [--quick] [...]
# Runs python -m paper.{fig1_content,fig1_style,fig2,fig3,fig4,fig5,start,sample,normalization}
# in turn, each writing a grid.png, its single images and a metrics.json into
# results/<experiment>/ (paper.start's experiment is named init, for the setting it varies),
# every image run to convergence (its loss changes by less than 0.1% over 100 evaluations) or
# to the module's cap; then writes results/claims.md (the table of measured claims; python -m
# paper.summary). Every argument goes to every module: --quick (256 px, for a CPU; default the
# paper's 512 px), --size N, --iterations CAP, --out DIR (default results), --content IMAGE (a
# file or a sample name, default chelsea), --weights FILE, --batching on|off (several images
# in one program; default off on a CPU), and any other setting (python -m paper.fig3 --help
# lists them).
# ONLY="fig3 fig4" runs a subset of the modules. A module that fails is reported and the
# others still run; the exit status is then 1. Every finished run (a layer, a painting, a row)
# is kept under results/<experiment>/runs/, and the run in progress keeps its optimizer state
# there every 5 minutes and on Ctrl-C: the same command later loads the finished runs and goes
# on from that checkpoint (--fresh optimizes everything again). Then
# `python -m paper.summary --docs` writes docs/paper.md and the gallery under docs/paper/.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
start=$SECONDS
failed=()
for name in ${ONLY:-fig1_content fig1_style fig2 fig3 fig4 fig5 start sample normalization}; do
    echo "== $name" >&2
    t=$SECONDS
    "$PYTHON" -m "paper.$name" "$@"
    status=$?
    if [ $status -eq 0 ]; then
        echo "== $name took $((SECONDS - t)) s" >&2
    elif [ $status -eq 130 ]; then
        echo "== $name interrupted after $((SECONDS - t)) s: the same command resumes it" >&2
        exit 130
    else
        echo "== $name FAILED after $((SECONDS - t)) s" >&2
        failed+=("$name")
    fi
done
"$PYTHON" -m paper.summary "$@" || failed+=(summary)
echo "== all done in $((SECONDS - start)) s" >&2
if [ ${#failed[@]} -gt 0 ]; then
    echo "== failed: ${failed[*]}" >&2
    exit 1
fi
