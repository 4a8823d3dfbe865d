"""Optimizers of the image x, as jitted `init`/`step` functions of explicit arguments, and
the driver that runs them.

Every state carries x, the losses and gradient *at x*, and counters: `init` evaluates the
objective once at x_0; each `step` evaluates once at a new point and moves x there (L-BFGS
keeps x when the trial fails its Armijo test, and retries shorter on the next step). So after
k steps `evaluations` is k + 1 and the losses belong to the image being returned.

How steps are driven is decided in one place, `steps_per_call`, by measurement: on XLA:CPU a
convolution inside `lax.scan` runs several times slower (DESIGN.md), so there every step is
its own jitted call from Python; on GPU/TPU several steps run in one `lax.scan` call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import threading
import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import lbfgs
from .errors import GatysError
from .losses import LossConfig, Losses, value_and_grad
from .precondition import DEFAULT_EXPONENT as DEFAULT_PRECONDITION
from .precondition import frequency_preconditioner

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LEARNING_RATE = {"lbfgs": 1.0, "adam": 10.0}  # adam: pixels are on a 0..255 scale


class State(NamedTuple):
    x: jnp.ndarray  # (H, W, 3) network input being optimized
    losses: Losses  # of x
    grad: jnp.ndarray  # dL_total/dx at x
    iteration: jnp.ndarray  # int32 steps taken
    evaluations: jnp.ndarray  # int32 loss+gradient evaluations so far
    opt: Any  # optimizer-specific: lbfgs.Search or an optax state


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """`lbfgs` (learning_rate scales its unit step) or `adam` (optax)."""

    name: str = "lbfgs"
    learning_rate: float | None = None  # None: DEFAULT_LEARNING_RATE[name]
    history: int = 100  # L-BFGS pairs kept
    precondition: float = DEFAULT_PRECONDITION  # L-BFGS: frequency exponent of H0 (0: none)

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise GatysError(f"unknown optimizer {self.name!r}; choose lbfgs or adam")
        if self.learning_rate is not None and not (math.isfinite(self.learning_rate)
                                                   and self.learning_rate > 0):
            raise GatysError(f"learning rate must be positive and finite, got {self.learning_rate}")
        if self.history < 1:
            raise GatysError(f"L-BFGS history must be at least 1, got {self.history}")
        if not (math.isfinite(self.precondition) and 0 <= self.precondition <= 2):
            raise GatysError(f"L-BFGS preconditioner exponent must be in [0, 2], got {self.precondition}")

    @property
    def lr(self) -> float:
        return DEFAULT_LEARNING_RATE[self.name] if self.learning_rate is None else self.learning_rate

    def _adam(self):
        return optax.adam(self.lr)

    def init_fn(self, config: LossConfig) -> Callable:
        """init(x, params, targets, weights) -> State (one evaluation)."""
        evaluate = value_and_grad(config)

        def init(x, params, targets, weights):
            (_, parts), grad = evaluate(x, params, targets, weights)
            if self.name == "lbfgs":
                opt = lbfgs.empty_search(self.history, x.size, x.dtype)
            else:
                opt = self._adam().init(x)
            zero = jnp.zeros((), jnp.int32)
            return State(x, parts, grad, zero, zero + 1, opt)

        return init

    def step_fn(self, config: LossConfig) -> Callable:
        """step(state, params, targets, weights) -> State (one evaluation)."""
        evaluate = value_and_grad(config)

        def step(state: State, params, targets, weights) -> State:
            if self.name == "adam":
                updates, opt = self._adam().update(state.grad, state.opt, state.x)
                x = optax.apply_updates(state.x, updates)
                (_, parts), grad = evaluate(x, params, targets, weights)
                return State(x, parts, grad, state.iteration + 1, state.evaluations + 1, opt)
            flat_grad = state.grad.reshape(-1)
            precond = frequency_preconditioner(state.x.shape, self.precondition)
            direction, length = lbfgs.trial(flat_grad, state.opt, self.lr, precond)
            move = length * direction
            x = state.x + move.reshape(state.x.shape)
            (_, parts), grad = evaluate(x, params, targets, weights)
            taken, retry = lbfgs.accept(state.losses.total, jnp.vdot(flat_grad, direction),
                                        length, parts.total)
            history = lbfgs.push(state.opt.history, move, (grad - state.grad).reshape(-1),
                                 grad.reshape(-1), taken, precond)
            pick = lambda new, old: jax.tree.map(lambda a, b: jnp.where(taken, a, b), new, old)
            return State(pick(x, state.x), pick(parts, state.losses), pick(grad, state.grad),
                         state.iteration + 1, state.evaluations + 1,
                         lbfgs.Search(history, direction, retry, ~taken))

        return step


def multi_step(step: Callable, count: int) -> Callable:
    """`count` steps in one function, as a `lax.scan`."""
    if count == 1:
        return step

    def steps(state, params, targets, weights):
        body = lambda s, _: (step(s, params, targets, weights), None)
        return jax.lax.scan(body, state, None, length=count)[0]

    return steps


def steps_per_call(backend: str | None = None) -> int:
    """Steps per compiled call, measured with scripts/bench_drivers.py (L-BFGS, 512 px):
    CPU 1 (2-core AVX-512: one step per call 233 ms, in a lax.scan 1214 ms, DESIGN.md);
    GPU 25 (H100: 5.7 ms per step one per call; 3.5, 4.4, 3.1, 3.8 ms in scans of 5, 10,
    25, 50 steps)."""
    backend = backend or jax.default_backend()
    return 1 if backend == "cpu" else 25


class Compiled(NamedTuple):
    init: Callable
    step: Callable  # one call = `chunk` steps
    chunk: int
    tail: Callable | None  # one step, for iteration counts not divisible by chunk
    seconds: float  # compile time


def compile_optimizer(optimizer: Optimizer, config: LossConfig, x, params, targets, weights,
                      chunk: int | None = None, batch_sharding=None) -> Compiled:
    """Lower and compile init and step for these argument shapes; time it.

    batch_sharding: None for one image; else x, targets and weights carry a leading batch
    axis, init and step are vmapped over it (params shared), and every state array is laid
    out with this sharding (e.g. a NamedSharding splitting the batch axis over devices).
    """
    chunk = chunk or steps_per_call()
    init, step = optimizer.init_fn(config), optimizer.step_fn(config)
    if batch_sharding is not None:
        init = jax.vmap(init, in_axes=(0, None, 0, 0))
        step = jax.vmap(step, in_axes=(0, None, 0, 0))
    start = time.perf_counter()
    init_c = jax.jit(init, out_shardings=batch_sharding).lower(x, params, targets, weights).compile()
    state_shape = jax.tree.map(
        lambda shape, sharding: jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=sharding),
        jax.eval_shape(init, x, params, targets, weights), init_c.output_shardings)
    jitted = lambda f: jax.jit(f, donate_argnums=0, out_shardings=batch_sharding).lower(
        state_shape, params, targets, weights).compile()
    step_c = jitted(multi_step(step, chunk))
    tail_c = jitted(step) if chunk > 1 else None
    return Compiled(init_c, step_c, chunk, tail_c, time.perf_counter() - start)


class NonFiniteLoss(GatysError):
    pass


@contextlib.contextmanager
def interrupt_flag():
    """Within the block, Ctrl-C sets flag["set"] instead of raising (main thread only), so a
    compiled call is never abandoned halfway and its (donated) state is never lost."""
    flag = {"set": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag["set"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def run(compiled: Compiled, state: State, args: tuple, iterations: int,
        on_update: Callable[[State], None] | None = None) -> tuple[State, bool]:
    """Take `iterations` steps from `state`; returns (final state, interrupted by Ctrl-C).

    Calls `on_update(state)` after every compiled call; stops with NonFiniteLoss as soon as
    any loss is not finite. Ctrl-C ends the run after the call in flight.
    """
    done = 0
    with interrupt_flag() as interrupted:
        while done < iterations and not interrupted["set"]:
            use_chunk = iterations - done >= compiled.chunk
            state = (compiled.step if use_chunk else compiled.tail)(state, *args)
            done += compiled.chunk if use_chunk else 1
            if not bool(jnp.all(jnp.isfinite(state.losses.total))):
                raise NonFiniteLoss(
                    f"the loss became non-finite after {int(np.max(state.evaluations))} "
                    "evaluations; lower --learning-rate or the loss weights")
            if on_update:
                on_update(state)
    return state, interrupted["set"]
