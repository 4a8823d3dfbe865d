"""Speed of the VGG19 feature pass: JAX against PyTorch, same weights, same input.

Times one forward pass and one forward + input-gradient pass through conv5_1 (--pooling,
float32, batch 1) at --size (default 512x384, width x height):

- JAX: the Flax VGG19 (gatys_jax.model.vgg), jitted, parameters passed as arguments (not closed
  over); compile time measured apart (lower + compile).
- PyTorch: benchmarks.torch_reference's VGG19 from the same h5 weights, in NCHW and in
  channels_last; `torch.no_grad()` for the forward pass; for the gradient pass the input
  requires grad and the weights do not, so only input gradients are computed.
- Peak: the median time of a float32 4096^3 matmul in JAX, measured in the same run.
- Timing: one warm-up call per case, then --repeats rounds in which every case (matmul
  included) is timed once, in turn; medians are reported. Interleaving keeps the ratios fair
  when other processes load the machine; the load average is printed beside the table.

FLOPs come from gatys_jax.engine.costs.forward_flops (multiply-add = 2 FLOPs). The input gradient of
a 3x3 conv is a 3x3 transposed conv of the output gradient, the same count; no weight
gradients are needed, so forward + input gradient = 2 x forward. ReLU and pooling are
elementwise and left out. GFLOP/s = model FLOPs / median seconds.

The gradient pass differentiates 0.5 * sum(conv5_1^2) with respect to the input image.

    python -m benchmarks.features [--size 512x384] [--repeats 5] [--no-torch]
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.engine.costs import forward_flops
from gatys_jax.model.layers import MIN_SIDE
from gatys_jax.model.vgg import VGG19, variables
from gatys_jax.weights import h5
from lab.host import machine
from lab.script import parse, parser

from .common import MATMUL_N, Case, defaults, markdown_table, matmul_case, time_round_robin
from .torch_runs import torch_device

LAYER = "conv5_1"
DEFAULTS = defaults()
# the feature pass has a network and its pooling, nothing else of the style transfer
SKIP = tuple(f.name for f in dataclasses.fields(StyleConfig) if f.name not in ("weights", "pooling"))


def half_sum_of_squares(features):
    return 0.5 * jnp.sum(jnp.square(features))


def jax_cases(params, x, pooling: str) -> list[Case]:
    model = VGG19(pooling=pooling)

    def features(p, x):
        return model.apply(variables(p), x, [LAYER])[LAYER]

    def loss(x, p):
        return half_sum_of_squares(features(p, x))

    passes = {"forward": jax.jit(features),
              "forward + input gradient": jax.jit(lambda p, x: jax.grad(loss)(x, p))}
    cases = []
    for name, fn in passes.items():
        start = time.perf_counter()
        compiled = fn.lower(params, x).compile()  # parameters are arguments, not constants
        setup_s = time.perf_counter() - start
        cases.append(Case("JAX (NHWC, jit)", name,
                          lambda c=compiled: c(params, x).block_until_ready(), setup_s,
                          np.asarray(compiled(params, x))))
    return cases


def torch_cases(vgg, x_nhwc: np.ndarray, pooling: str) -> list[Case]:
    """Both passes in both layouts, eager PyTorch on the GPU if there is one."""
    import torch

    from . import torch_reference
    device = torch_device()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    cases = []
    for layout in torch_reference.MEMORY_FORMATS:
        model = torch_reference.build_model(vgg, pooling, layout, device)
        x = model.to_nchw(torch.from_numpy(x_nhwc[0]).to(device))

        def forward(model=model, x=x):
            with torch.no_grad():
                out = model(x, (LAYER,))[LAYER]
            sync()
            return out

        def gradient(model=model, x=x):
            xg = x.detach().requires_grad_(True)
            out = model(xg, (LAYER,))[LAYER]
            (grad,) = torch.autograd.grad(0.5 * out.square().sum(), xg)
            sync()
            return grad

        for name, fn in (("forward", forward), ("forward + input gradient", gradient)):
            start = time.perf_counter()
            out = fn()
            setup_s = time.perf_counter() - start
            cases.append(Case(f"PyTorch ({layout})", name, fn, setup_s,
                              out.detach().cpu().numpy().transpose(0, 2, 3, 1)))
    return cases


def parse_size(text: str) -> tuple[int, int]:
    """'512x384' (width x height) -> (height, width); '512' -> 4:3 landscape of that width."""
    if "x" in text:
        width, height = (int(v) for v in text.lower().split("x"))
    else:
        width = int(text)
        height = round(width * 3 / 4)
    if min(width, height) < MIN_SIDE:
        raise SystemExit(f"--size {text}: VGG19 needs at least {MIN_SIDE} px per side")
    return height, width


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (2-norm over all elements)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def parse_args(argv=None):
    """(flags, settings, (height, width) of the input)."""
    p = parser(__doc__, DEFAULTS, SKIP, images=False)
    # dest "shape": an attribute named "size" would be read as StyleConfig's size
    p.add_argument("--size", dest="shape", default="512x384",
                   help="WIDTHxHEIGHT, or a width for 4:3 (default 512x384)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per pass (default 5)")
    p.add_argument("--no-torch", action="store_true", help="time JAX only")
    args, config = parse(p, argv, DEFAULTS)
    return args, config, parse_size(args.shape)


def with_torch(no_torch: bool) -> bool:
    """Whether to time PyTorch: unless --no-torch, when it is installed (else a note says so)."""
    if no_torch:
        return False
    if importlib.util.find_spec("torch") is None:
        print("torch is not installed: timing JAX only", file=sys.stderr)
        return False
    return True


def median(case: Case) -> float:
    """Median seconds of the case's timed calls."""
    return statistics.median(case.times)


def print_speeds(cases: list[Case], flops: dict, peak: float) -> None:
    """Per case: times, GFLOP/s by the FLOP model and its share of the matmul peak."""
    rows = []
    for case in cases:
        rate = flops[case.name] / median(case) / 1e9
        rows.append([case.impl, case.name, f"{median(case) * 1e3:.0f}",
                     f"{min(case.times) * 1e3:.0f}", f"{case.setup_s:.2f}", f"{rate:.0f}",
                     f"{100 * rate / peak:.0f}%"])
    print(markdown_table(["implementation", "pass", "median ms", "min ms",
                          "compile / warm-up s", "GFLOP/s", "% of matmul peak"], "llrrrrr", rows))


def print_agreement(jax_only: list[Case], torch_only: list[Case]) -> None:
    """Per pass: PyTorch's time in each layout over JAX's, and how far their outputs differ."""
    rows = []
    for case in jax_only:
        nchw, last = (next(c for c in torch_only if c.name == case.name and layout in c.impl)
                      for layout in ("nchw", "channels_last"))
        diff = max(relative_difference(case.out, nchw.out),
                   relative_difference(case.out, last.out))
        rows.append([case.name, f"{median(nchw) / median(case):.2f}",
                     f"{median(last) / median(case):.2f}", f"{diff:.1e}"])
    print("\n" + markdown_table(["pass", "PyTorch NCHW ms / JAX ms",
                                 "PyTorch channels_last ms / JAX ms",
                                 "rel. difference JAX vs PyTorch (2-norm)"], "lrrr", rows))
    print("\n(ratio > 1: JAX is faster)")


def main(argv=None) -> None:
    args, config, (height, width) = parse_args(argv)
    vgg = h5.load(config.weights)
    params = jax.tree_util.tree_map(jnp.asarray, vgg.params)
    rng = np.random.default_rng(0)
    x_np = rng.uniform(-120, 130, (1, height, width, 3)).astype(np.float32)  # Caffe range
    use_torch = with_torch(args.no_torch)

    peak_case = matmul_case()
    jax_only = jax_cases(params, jnp.asarray(x_np), config.pooling)
    torch_only = torch_cases(vgg, x_np, config.pooling) if use_torch else []
    load_before = os.getloadavg()
    time_round_robin([peak_case] + jax_only + torch_only, args.repeats)
    load_after = os.getloadavg()

    peak = 2 * MATMUL_N**3 / median(peak_case) / 1e9
    flops = {"forward": forward_flops(height, width, LAYER)}
    flops["forward + input gradient"] = 2 * flops["forward"]
    print(f"# VGG19 through {LAYER}, {width}x{height}, float32, batch 1, {config.pooling} "
          "pooling\n")
    print(f"- machine: {machine()}")
    print(f"- float32 matmul peak (JAX, {MATMUL_N}^3): {peak:.0f} GFLOP/s "
          f"({median(peak_case) * 1e3:.0f} ms)")
    print(f"- FLOP model: forward {flops['forward'] / 1e9:.1f} GFLOP; forward + input gradient "
          f"{flops['forward + input gradient'] / 1e9:.1f} GFLOP (2 x forward)")
    print(f"- {args.repeats} rounds, every case timed once per round (interleaved), after one "
          f"warm-up each; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"(above ~0.5, other processes skew absolute times)\n")
    print_speeds(jax_only + torch_only, flops, peak)
    if torch_only:
        print_agreement(jax_only, torch_only)


if __name__ == "__main__":
    main()
