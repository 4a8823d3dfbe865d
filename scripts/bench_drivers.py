"""How to drive optimizer steps on this backend: one jitted call per step from Python, or
several steps per call in a `lax.scan`. Prints median ms per step for each choice, compile
time apart; `gatys_jax.optimize.steps_per_call` encodes the result.

    python scripts/bench_drivers.py --size 512 --chunks 1,5,10,25 --optimizer lbfgs
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from gatys_jax import images, losses, optimize
from gatys_jax.stylize import initial_image, load_weights, prepare_images

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--chunks", default="1,5,10")
    parser.add_argument("--optimizer", default="lbfgs")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per choice")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--content", default=str(IMAGES / "tubingen.jpg"))
    parser.add_argument("--style", default=str(IMAGES / "starry_night.jpg"))
    args = parser.parse_args()

    vgg = load_weights(args.weights)
    content, (style,) = prepare_images(args.content, args.style, args.size)
    config = losses.LossConfig()
    params = jax.device_put(vgg.params)
    to_x = lambda rgb: jnp.asarray(images.to_network(rgb, vgg.convention))
    targets = jax.jit(losses.make_targets, static_argnums=3)(params, to_x(content), to_x(style), config)
    weights = losses.make_loss_weights(1e-3, [0.2] * 5)
    x0 = to_x(initial_image("noise", 0, content, style))
    solver = optimize.Optimizer(args.optimizer)

    print(f"backend {jax.default_backend()} ({jax.devices()[0].device_kind}), "
          f"{content.shape[0]}x{content.shape[1]} px, {args.optimizer}")
    print("| steps per call | compile s | median ms/step | min ms/step |")
    print("| --- | --- | --- | --- |")
    for chunk in (int(c) for c in args.chunks.split(",")):
        compiled = optimize.compile_optimizer(solver, config, x0, params, targets, weights, chunk=chunk)
        state = compiled.init(x0, params, targets, weights)
        state = compiled.step(state, params, targets, weights)  # warm-up
        jax.block_until_ready(state)
        per_step = []
        for _ in range(max(1, args.steps // chunk)):
            start = time.perf_counter()
            state = compiled.step(state, params, targets, weights)
            jax.block_until_ready(state.losses.total)
            per_step.append((time.perf_counter() - start) / chunk * 1e3)
        print(f"| {chunk} | {compiled.seconds:.1f} | {statistics.median(per_step):.1f} | "
              f"{min(per_step):.1f} |")


if __name__ == "__main__":
    main()
