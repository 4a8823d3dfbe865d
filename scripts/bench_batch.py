"""Images per second for batches of noise seeds versus the same images one after another.

For each size and batch size B: one compiled program optimizes B images together
(`stylize_batch`, max_batch=B), against the same B images run one after another by one
compiled single-image program (max_batch=1). Compile time is reported apart; times are
medians over --repeats.

    python scripts/bench_batch.py --sizes 128,256 --batches 1,2,4,8 --iterations 20
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import jax

from gatys_jax.stylize import stylize_batch

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"


def timed_run(content, style, seeds, max_batch, size, iterations, optimizer,
              weights) -> tuple[float, float]:
    """(optimization seconds, compile seconds) of one run over `seeds`."""
    _, metrics = stylize_batch(content, style, seeds=seeds, size=size, iterations=iterations,
                               optimizer=optimizer, weights=weights, max_batch=max_batch)
    return metrics["wall_seconds"], metrics["compile_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--batches", default="1,2,4,8")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--optimizer", default="lbfgs")
    parser.add_argument("--weights", default=None, help="default: the normalized weights")
    parser.add_argument("--content", default=str(IMAGES / "tubingen.jpg"))
    parser.add_argument("--style", default=str(IMAGES / "starry_night.jpg"))
    args = parser.parse_args()

    print(f"backend {jax.default_backend()} ({jax.devices()[0].device_kind}), "
          f"{len(jax.devices())} device(s), {args.optimizer}, {args.iterations} iterations, "
          f"median of {args.repeats}")
    print("| size | batch | batched s/image | sequential s/image | batched/sequential | "
          "images/s batched | compile s (batch, single) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.sizes.split(",")):
        run = lambda seeds, max_batch: timed_run(args.content, args.style, seeds, max_batch, size,
                                                 args.iterations, args.optimizer, args.weights)
        for b in (int(b) for b in args.batches.split(",")):
            batched, sequential = [], []
            for _ in range(args.repeats):
                seconds, compile_batch = run(list(range(b)), b)
                batched.append(seconds / b)
                seconds, compile_single = run(list(range(b)), 1)
                sequential.append(seconds / b)
            per_batched, per_sequential = statistics.median(batched), statistics.median(sequential)
            print(f"| {size} | {b} | {per_batched:.3f} | {per_sequential:.3f} | "
                  f"{per_batched / per_sequential:.2f} | {1 / per_batched:.2f} | "
                  f"{compile_batch:.1f}, {compile_single:.1f} |")


if __name__ == "__main__":
    main()
