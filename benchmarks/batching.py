"""Images per second for batches of noise seeds versus the same images one after another.

For each size and batch size B: one compiled program optimizes B images together
(`stylize_batch`, max_batch=B), against the same B images run one after another by one
compiled single-image program (max_batch=1). Compile time is reported apart; times are
medians over --repeats.

    python -m benchmarks.batching --sizes 128,256 --batches 1,2,4,8 --iterations 20
"""

from __future__ import annotations

import statistics

import jax

from gatys_jax.config import StyleConfig
from gatys_jax.transfer import stylize_batch
from lab import experiment, script

from . import common

DEFAULTS = common.defaults(iterations=20)
SKIP = ("size", "seed", "max_batch", "save_every", "max_megapixels")  # what is varied


def timed_run(content, style, config: StyleConfig, seeds) -> tuple[float, float]:
    """(optimization seconds, compile seconds) of one run over `seeds`."""
    result = experiment.completed(stylize_batch(content, [style], config, seeds=seeds))
    return result.wall_seconds, result.compile_seconds


def main(argv=None) -> None:
    parser = script.parser(__doc__, DEFAULTS, SKIP)
    parser.add_argument("--sizes", default="128,256", help="long sides (default 128,256)")
    parser.add_argument("--batches", default="1,2,4,8", help="batch sizes (default 1,2,4,8)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (default 3)")
    args, config = script.parse(parser, argv, DEFAULTS)

    print(f"backend {jax.default_backend()} ({jax.devices()[0].device_kind}), "
          f"{len(jax.devices())} device(s), {config.optimizer}, {config.iterations} "
          f"iterations, median of {args.repeats}")
    print("| size | batch | batched s/image | sequential s/image | batched/sequential | "
          "images/s batched | compile s (batch, single) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.sizes.split(",")):
        for b in (int(b) for b in args.batches.split(",")):
            run = lambda max_batch: timed_run(args.content, args.style,
                                              config.replace(size=size, max_batch=max_batch),
                                              list(range(b)))
            batched, sequential = [], []
            for _ in range(args.repeats):
                seconds, compile_batch = run(b)
                batched.append(seconds / b)
                seconds, compile_single = run(1)
                sequential.append(seconds / b)
            per_batched, per_sequential = statistics.median(batched), statistics.median(sequential)
            print(f"| {size} | {b} | {per_batched:.3f} | {per_sequential:.3f} | "
                  f"{per_batched / per_sequential:.2f} | {1 / per_batched:.2f} | "
                  f"{compile_batch:.1f}, {compile_single:.1f} |")


if __name__ == "__main__":
    main()
