"""The driver: compile a solver's steps on the objective (jit, vmap over a batch, donation,
shardings) and run them, with no I/O.

Every state carries x, the loss and gradient *at x*, and counters: `init` evaluates the
objective once at x_0; each step makes the evaluations its solver reports (L-BFGS keeps x when
its trial fails the Armijo test, and retries shorter on the next step). After k steps of a
one-evaluation solver `evaluations` is k + 1, and the loss belongs to the image returned.

How steps are driven is decided in one place, `steps_per_call`: on XLA:CPU a convolution
inside `lax.scan` runs several times slower than the same step jitted on its own (jax-ml/jax
#12868), so there every step is its own call from Python; on GPU/TPU several steps run in one
`lax.scan` call. docs/benchmarks.md has the measurements (`python -m benchmarks.drivers`).
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.engine.batch import agreed_signal, to_host
from gatys_jax.errors import GatysError
from gatys_jax.io import interrupts
from gatys_jax.model.objective import Objective
from gatys_jax.optim.solvers import Point, Solver


class State(NamedTuple):
    """Where a run stands: the image with its loss and gradient, the solver's state and the
    counters (one row per image when batched)."""

    x: jnp.ndarray  # (H, W, 3) the image being optimized, network input units
    value: jnp.ndarray  # total loss at x
    grad: jnp.ndarray  # its gradient
    iteration: jnp.ndarray  # int32 steps taken: one scalar, shared by every image of a batch
    evaluations: jnp.ndarray  # int32 loss+gradient evaluations so far
    opt: Any  # the solver's state


# how a batched State is vmapped: every field along axis 0 but the shared step count
BATCH_AXES = State(0, 0, 0, None, 0, 0)


def init_function(solver: Solver, objective: Objective) -> Callable:
    """init(x, params, targets, weights) -> State: one evaluation at x (clipped into the
    solver's box, if it has one)."""

    def init(x, params, targets, weights):
        if solver.box is not None:
            x = solver.box.clip(x)
        value, grad = objective.loss(params, targets, weights).value_and_grad(x)
        zero = jnp.zeros((), jnp.int32)
        return State(x, value, grad, zero, zero + 1, solver.init(x))

    return init


def step_function(solver: Solver, objective: Objective) -> Callable:
    """step(state, params, targets, weights) -> State: one solver update."""

    def step(state: State, params, targets, weights) -> State:
        point, opt, made = solver.update(Point(state.x, state.value, state.grad), state.opt,
                                         objective.loss(params, targets, weights),
                                         state.iteration)
        return State(*point, state.iteration + 1, state.evaluations + made, opt)

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
    """Steps per compiled call: 1 on CPU, 25 on accelerators (docs/benchmarks.md)."""
    backend = backend or jax.default_backend()
    return 1 if backend == "cpu" else 25


class Compiled(NamedTuple):
    """The compiled program of a run: `init(x, params, targets, weights)` evaluates x_0 into a
    State, `step(state, params, targets, weights)` takes `steps_per_call` steps (donating the
    state)."""

    init: Callable
    step: Callable  # one call = `steps_per_call` steps
    steps_per_call: int
    tail: Callable | None  # one step, for iteration counts not divisible by steps_per_call
    batched: bool
    seconds: float  # compile time
    state: Any  # the State's shapes, dtypes and shardings (jax.ShapeDtypeStruct leaves)


def compile(solver: Solver, objective: Objective, x, params, targets, weights, *,
            batched: bool = False, sharding=None, steps: int | None = None) -> Compiled:
    """Lower and compile init and step for these argument shapes; time it.

    batched: x, targets and weights carry a leading batch axis and init and step are vmapped
    over it (params shared); `sharding` lays every state array out (e.g. the batch axis split
    over devices). Unbatched, x is one image and nothing is vmapped. `steps`: steps per call
    (default: `steps_per_call()` for this backend).
    """
    steps = steps or steps_per_call()
    init, step = init_function(solver, objective), step_function(solver, objective)
    if batched:
        init = jax.vmap(init, in_axes=(0, None, 0, 0), out_axes=BATCH_AXES)
        step = jax.vmap(step, in_axes=(BATCH_AXES, None, 0, 0), out_axes=BATCH_AXES)
    start = time.perf_counter()
    state_shape = jax.eval_shape(init, x, params, targets, weights)
    layout = None
    if sharding is not None:  # the batch axis split over devices, the step count replicated
        replicated = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
        layout = jax.tree.map(lambda _: sharding, state_shape)._replace(iteration=replicated)
    init_c = jax.jit(init, out_shardings=layout).lower(x, params, targets, weights).compile()
    state_shape = jax.tree.map(
        lambda shape, placed: jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=placed),
        state_shape, init_c.output_shardings)
    jitted = lambda f: jax.jit(f, donate_argnums=0, out_shardings=layout).lower(
        state_shape, params, targets, weights).compile()
    step_c = jitted(multi_step(step, steps))
    tail_c = jitted(step) if steps > 1 else None
    return Compiled(init_c, step_c, steps, tail_c, batched, time.perf_counter() - start,
                    state_shape)


def restore(compiled: Compiled, leaves: list[np.ndarray]) -> State:
    """The State whose arrays are `leaves` (jax.tree.leaves of a state of this program, on
    the host), placed as the program expects; GatysError if they do not fit it."""
    shapes = jax.tree.leaves(compiled.state)
    if len(leaves) != len(shapes) or any(
            leaf.shape != shape.shape or leaf.dtype != shape.dtype
            for leaf, shape in zip(leaves, shapes)):
        raise GatysError("the saved state does not fit this run's program (another image "
                         "size, batch or optimizer)")
    return jax.tree.unflatten(jax.tree.structure(compiled.state),
                              [jax.device_put(leaf, shape.sharding)
                               for leaf, shape in zip(leaves, shapes)])


def program_bytes(compiled: Compiled) -> dict | None:
    """XLA's own accounting of one call of the step program, in bytes: `arguments` (the
    state, with the L-BFGS history, and the parameters, targets and weights), `outputs` (the
    next state), `aliased` (outputs written over donated arguments) and `temporaries`
    (activations, gradients and scratch, at the buffer assignment's peak); None where the
    backend does not say."""
    stats = compiled.step.memory_analysis()
    if stats is None:
        return None
    return {"arguments": stats.argument_size_in_bytes, "outputs": stats.output_size_in_bytes,
            "aliased": stats.alias_size_in_bytes, "temporaries": stats.temp_size_in_bytes}


def _losses(objective: Objective, batched: bool, x, params, targets, weights):
    evaluate = lambda x, targets, weights: objective.losses(params, x, targets, weights)
    return (jax.vmap(evaluate) if batched else evaluate)(x, targets, weights)


_losses_jit = jax.jit(_losses, static_argnums=(0, 1))


def losses(compiled: Compiled, objective: Objective, state: State, params, targets, weights):
    """Every loss term (objective.Losses) at the state's x, on the host."""
    return to_host(_losses_jit(objective, compiled.batched, state.x, params, targets, weights))


class NonFiniteLoss(GatysError):
    pass


class TraceRow(NamedTuple):
    """The run after one compiled call (or the initial evaluation)."""

    evaluations: np.ndarray  # (B,) int, loss+gradient evaluations each image has made
    totals: np.ndarray  # (B,) float, each image's total loss
    seconds: float  # since the run started


class StopRule(NamedTuple):
    """When a run ends: after `iterations` steps, or earlier once every image has made
    `max_evaluations` evaluations (a line search's step may go past it), or has converged:
    its total loss fell by less than `tolerance` (relative), or it moved by less than `pixels`
    grey levels of 0..255 (RMS), over its last `window` evaluations; or once `until(row)`
    holds for the latest TraceRow (a caller's own goal, e.g. a loss to reach)."""

    iterations: int
    max_evaluations: int | None = None
    tolerance: float | None = None
    window: int = 100
    pixels: float | None = None
    until: Callable[[TraceRow], bool] | None = None


class Trace:
    """The TraceRow after every compiled call; and, when the images are watched (`watch`),
    how far each image moved over its last window of evaluations."""

    def __init__(self, start: float):
        self.start = start
        self.rows: list[TraceRow] = []
        self.moves: dict[int, np.ndarray] = {}  # row index -> (B,) RMS grey levels moved
        self._anchor: tuple[np.ndarray, np.ndarray] | None = None  # (evaluations, pixels)

    def record(self, state: State) -> TraceRow:
        row = TraceRow(np.atleast_1d(to_host(state.evaluations)),
                       np.atleast_1d(to_host(state.value)), time.perf_counter() - self.start)
        self.rows.append(row)
        if not np.all(np.isfinite(row.totals)):
            raise NonFiniteLoss(
                f"the loss became non-finite after {int(row.evaluations.max())} evaluations; "
                "lower the learning rate or the loss weights")
        return row

    def watch(self, x, to_pixels: Callable[[np.ndarray], np.ndarray], window: int) -> None:
        """After `record`: once every image has made `window` evaluations since the last
        comparison, record in `moves` the RMS difference of each image (to_pixels(x): RGB in
        0..255, per image) from the one then, and keep this one for the next comparison."""
        evaluations = self.rows[-1].evaluations
        if self._anchor is not None and (evaluations - self._anchor[0]).min() < window:
            return
        pixels = to_pixels(np.asarray(to_host(x))).reshape(len(evaluations), -1)
        if self._anchor is not None:
            self.moves[len(self.rows) - 1] = np.sqrt(
                np.mean(np.square(pixels - self._anchor[1]), axis=1))
        self._anchor = (evaluations, pixels)

    @property
    def moved(self) -> np.ndarray | None:
        """(B,) RMS grey levels each image moved over its last window; None before then."""
        return next(reversed(self.moves.values())) if self.moves else None  # rows ascend

    def arrays(self) -> dict[str, np.ndarray]:
        """The trace as plain arrays (`Trace.restore` reads them back)."""
        evaluations, totals, seconds = (np.stack(column) for column in zip(*self.rows))
        moved_rows = np.array(sorted(self.moves), np.int64)
        anchor = self._anchor or (np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        return {"evaluations": evaluations, "totals": totals, "seconds": seconds,
                "moved_rows": moved_rows,
                "moved": np.stack([self.moves[k] for k in moved_rows.tolist()])
                if len(moved_rows) else np.zeros((0, evaluations.shape[1]), np.float32),
                "anchor_evaluations": anchor[0], "anchor_pixels": anchor[1]}

    @classmethod
    def restore(cls, arrays: dict[str, np.ndarray]) -> Trace:
        """The trace `arrays()` gave, its clock going on from its last row."""
        trace = cls(time.perf_counter() - float(arrays["seconds"][-1]))
        trace.rows = [TraceRow(e, t, float(s)) for e, t, s in
                      zip(arrays["evaluations"], arrays["totals"], arrays["seconds"])]
        trace.moves = dict(zip(arrays["moved_rows"].tolist(), arrays["moved"]))
        if len(arrays["anchor_evaluations"]):
            trace._anchor = (arrays["anchor_evaluations"], arrays["anchor_pixels"])
        return trace

    def history(self, index: int = 0) -> list[dict]:
        """Image `index`'s rows: evaluations, total loss, seconds, and where the image was
        compared with the one a window before, `moved` (RMS grey levels)."""
        return [{"evaluations": int(row.evaluations[index]),
                 "total_loss": float(row.totals[index]), "seconds": row.seconds,
                 **({"moved": float(self.moves[k][index])} if k in self.moves else {})}
                for k, row in enumerate(self.rows)]

    def converged(self, stop: StopRule) -> np.ndarray | None:
        """(B,) bool: each image met the stop rule's tolerance (over at least `window`
        evaluations) or its pixels rule; None when the rule sets neither."""
        if stop.tolerance is None and stop.pixels is None:
            return None
        evaluations = np.stack([row.evaluations for row in self.rows])  # (rows, B), ascending
        totals = np.stack([row.totals for row in self.rows])
        done = np.zeros(totals.shape[1], bool)
        if stop.tolerance is not None:
            back = (evaluations <= evaluations[-1] - stop.window).sum(axis=0) - 1
            earlier = totals[np.maximum(back, 0), np.arange(totals.shape[1])]
            done |= (back >= 0) & (earlier - totals[-1] <= stop.tolerance * np.abs(totals[-1]))
        if stop.pixels is not None and self.moved is not None:
            done |= self.moved < stop.pixels
        return done

    def stops(self, stop: StopRule, done: int) -> bool:
        """Whether a run that has taken `done` steps ends at the latest row."""
        row = self.rows[-1]
        converged = self.converged(stop)
        return (done >= stop.iterations
                or (stop.max_evaluations is not None
                    and row.evaluations.min() >= stop.max_evaluations)
                or (converged is not None and bool(converged.all()))
                or (stop.until is not None and bool(stop.until(row))))


class Run(NamedTuple):
    state: State
    trace: Trace
    interrupted: int  # the signal that stopped the run early (SIGINT, SIGTERM), 0 for none


def run(compiled: Compiled, x0, args: tuple, stop: StopRule,
        on_update: Callable[[State, TraceRow], None] | None = None,
        to_pixels: Callable[[np.ndarray], np.ndarray] | None = None,
        trace: Trace | None = None, state: State | None = None) -> Run:
    """Evaluate x0 (`compiled.init`), then take steps until `stop` ends the run.

    args: (params, targets, weights). to_pixels(x): RGB in 0..255, for `stop.pixels`.
    `trace`: the Trace to record into (pass one to read it while the run goes on). `state`
    (with the `trace` that recorded it, e.g. both restored from a checkpoint) goes on from
    that state instead of evaluating x0; its steps count towards `stop.iterations`.
    on_update(state, row) follows the first evaluation (or the given state) and every
    compiled call. NonFiniteLoss as soon as a loss is not finite. SIGINT or SIGTERM ends the
    run after the call in flight (the state is kept).
    """
    trace = Trace(time.perf_counter()) if trace is None else trace
    if state is None:
        state = compiled.init(x0, *args)
        row = trace.record(state)
    else:  # a restored state: the trace that recorded it already holds its row
        row = trace.rows[-1] if trace.rows else trace.record(state)
    watched = stop.pixels is not None
    if watched:  # at a restored state, a no-op: that row was watched before it was saved
        trace.watch(state.x, to_pixels, stop.window)
    if on_update:
        on_update(state, row)
    done = int(to_host(state.iteration))
    signum = 0
    with interrupts.deferred() as pending:
        while not signum and not trace.stops(stop, done):
            whole_call = stop.iterations - done >= compiled.steps_per_call
            state = (compiled.step if whole_call else compiled.tail)(state, *args)
            done += compiled.steps_per_call if whole_call else 1
            row = trace.record(state)
            if watched:
                trace.watch(state.x, to_pixels, stop.window)
            if on_update:
                on_update(state, row)
            signum = agreed_signal(pending.signum)
        pending.consumed = True
    return Run(state, trace, signum or pending.signum)
