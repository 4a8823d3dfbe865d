"""How to drive solver steps on this backend: one compiled call per step from Python, or
several steps per call in a `lax.scan`. Prints median ms per step for each choice, compile
time apart; gatys_jax.engine.driver.steps_per_call encodes the result (docs/benchmarks.md).

    python -m benchmarks.drivers --size 512 --steps-per-call 1,5,10,25 --optimizer lbfgs
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp

from gatys_jax.engine import driver
from gatys_jax.optim import solvers
from gatys_jax.weights import h5
from lab import experiment, script

from . import common

DEFAULTS = common.defaults(size=256)
SKIP = ("iterations", "max_batch", "save_every", "max_megapixels")  # --steps are timed


def main(argv=None) -> None:
    parser = script.parser(__doc__, DEFAULTS, SKIP)
    parser.add_argument("--steps-per-call", default="1,5,10",
                        help="steps per compiled call to time (default 1,5,10)")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per choice")
    args, config = script.parse(parser, argv, DEFAULTS)

    problem = experiment.problem(config, args.content, args.style,
                             h5.resolve(config.weights))
    arguments = experiment.device_arguments(problem, config)
    x0 = jnp.asarray(problem.x0(config))
    solver = solvers.named(config.optimizer, config.learning_rate, config.history,
                             config.precondition)

    height, width = problem.shape
    print(f"backend {jax.default_backend()} ({jax.devices()[0].device_kind}), "
          f"{width}x{height} px, {config.optimizer}")
    print("| steps per call | compile s | median ms/step | min ms/step |")
    print("| --- | --- | --- | --- |")
    for per_call in (int(n) for n in args.steps_per_call.split(",")):
        compiled = driver.compile(solver, problem.objective, x0, *arguments, steps=per_call)
        state = compiled.init(x0, *arguments)
        state = compiled.step(state, *arguments)  # warm-up
        jax.block_until_ready(state)
        per_step = []
        for _ in range(max(1, args.steps // per_call)):
            start = time.perf_counter()
            state = compiled.step(state, *arguments)
            jax.block_until_ready(state.value)
            per_step.append((time.perf_counter() - start) / per_call * 1e3)
        print(f"| {per_call} | {compiled.seconds:.1f} | {statistics.median(per_step):.1f} | "
              f"{min(per_step):.1f} |")


if __name__ == "__main__":
    main()
