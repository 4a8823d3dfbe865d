"""One resumable run: the driver's run of a compiled program that goes on from a checkpoint
and keeps its state there as it goes. `stylize` runs every scale through it, and so does each
script that optimizes for longer than a sitting (paper.fig2).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from gatys_jax.checkpoints import Checkpoint, Saved
from gatys_jax.engine import driver


def run(compiled: driver.Compiled, x0, args: tuple, stop: driver.StopRule, *,
        keeper: Checkpoint | None = None, saved: Saved | None = None,
        notes: Callable[[], dict] = dict,
        arrays: Callable[[], dict[str, np.ndarray]] | None = None,
        on_update: Callable[[driver.State, driver.TraceRow], None] | None = None,
        to_pixels: Callable[[np.ndarray], np.ndarray] | None = None,
        keep_at_end: Callable[[driver.Run], bool] = lambda run: True) -> driver.Run:
    """driver.run(compiled, x0, args, stop, ...) from `saved` (keeper.load()'s answer: its
    state and trace; None starts at x0), saving to `keeper` every checkpoints.EVERY_SECONDS,
    when a signal stops the run, and at its end when keep_at_end(run). Each save holds the
    state, the trace, and the caller's notes() (JSON) and arrays() at that moment.
    on_update(state, row) follows every compiled call, before the save that falls due."""
    state = driver.restore(compiled, saved.leaves) if saved else None
    trace = (driver.Trace.restore(saved.trace) if saved
             else driver.Trace(time.perf_counter()))
    kept = lambda state, run_trace: (state, run_trace, notes(), arrays() if arrays else None)

    def update(state: driver.State, row: driver.TraceRow) -> None:
        if on_update:
            on_update(state, row)
        if keeper and keeper.due():
            keeper.save_or_warn(*kept(state, trace))

    done = driver.run(compiled, x0, args, stop, update, to_pixels, trace, state)
    if keeper and (done.interrupted or keep_at_end(done)):
        keeper.save(*kept(done.state, done.trace))
    return done
