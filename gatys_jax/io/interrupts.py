"""SIGINT and SIGTERM: held back where stopping halfway would lose or damage something.

Inside `deferred()`, either signal only records itself; the optimization loop polls it to stop
between steps (keeping the latest image), and a file write finishes its rename first. When
the block ends, a signal nobody consumed is delivered as if it had just arrived. The CLI turns
both signals into `Interrupted` everywhere else (compiling, loading), so that it can exit with
128 + the signal number and no traceback. Python drops an exception raised where it ignores
exceptions (a garbage-collection callback, __del__) after reporting it with a traceback on
stderr; within `raising()` that report is left out, and such a signal is raised again at the
next `deferred()` or at the end of `raising()`, so it is never lost. Once a stop is under way
(an `Interrupted` raised, or a signal a caller consumed to stop between steps), any further
signal, of either kind and however many, is ignored within `raising()`: the latest image is
still written, and the exit status names the first signal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; like KeyboardInterrupt, not caught by `except Exception`."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_raised: list[int] = []  # signals raise_interrupted raised that have not left `raising` yet
_consumed: list[int] = []  # signals a caller consumed to stop, within `raising`


def raise_interrupted(signum, frame):
    if _raised or _consumed:  # a stop is under way: let it finish writing
        return
    _raised.append(signum)
    raise Interrupted(signum)


def _reraise_dropped() -> None:
    """Raise `Interrupted` again for a signal raised inside `raising` whose exception was
    dropped (only the CLI catches it, outside the block)."""
    if _raised:
        raise Interrupted(_raised[0])


@contextlib.contextmanager
def raising():
    """Within the block, SIGINT and SIGTERM raise `Interrupted` (the CLI's setting; main
    thread only), to be caught outside it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, raise_interrupted) for signum in SIGNALS}
    report = sys.unraisablehook

    def report_all_but_interrupted(unraisable) -> None:
        if not isinstance(unraisable.exc_value, Interrupted):
            report(unraisable)

    sys.unraisablehook = report_all_but_interrupted
    try:
        yield
        _reraise_dropped()
    finally:
        _raised.clear()
        _consumed.clear()
        sys.unraisablehook = report
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclasses.dataclass
class Pending:
    signum: int = 0  # the first signal that arrived in the block, 0 for none
    consumed: bool = False  # set by a caller that handled it (no delivery at the end)


def _deliver(signum: int, handler) -> None:
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT and SIGTERM back within the block (main thread only; elsewhere signals
    cannot be handled anyway). Yields a `Pending`."""
    pending = Pending()
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    _reraise_dropped()

    def record(signum, frame):
        pending.signum = pending.signum or signum

    previous = {signum: signal.signal(signum, record) for signum in SIGNALS}
    try:
        yield pending
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if pending.signum and pending.consumed and previous[pending.signum] is raise_interrupted:
        _consumed.append(pending.signum)
    elif pending.signum and not pending.consumed:
        _deliver(pending.signum, previous[pending.signum])
