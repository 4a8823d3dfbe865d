"""The progress of a run: a line on stderr before compiling, then a bar whose ETA weighs each
coarse-to-fine scale by its cost."""

from __future__ import annotations

import os
import sys

from gatys_jax.events import PlanEvent, ProgressEvent

# the bar without tqdm's counts and rate: they are in units of cost, which mean nothing to a
# reader; the postfix says the iteration instead
BAR_FORMAT = "{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]"
FALLBACK_SIZE = {"ncols": 80, "nrows": 24}  # the screen where the terminal reports none


def bar_size(stream=None) -> dict:
    """tqdm's size arguments for a bar on `stream` (default stderr): the terminal's size as it
    changes, or a fixed one where the terminal reports none (a detached or CI terminal may say
    0 x 0, where tqdm draws nothing but an empty line: it keeps one column and one row free
    and trims the bar to what is left)."""
    stream = sys.stderr if stream is None else stream
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):  # not a terminal: tqdm writes whole lines
        return {}
    if size.columns < 2 or size.lines < 2:
        return {**FALLBACK_SIZE, "dynamic_ncols": False}
    return {"dynamic_ncols": True}


class Progress:
    """What a run is doing, as its on_update callback: one line on stderr before compiling
    (which can take a while), then a bar (tqdm.auto: a widget in Jupyter) with the scale,
    iteration, evaluations, loss (mean over a batch) and ETA.

    The bar counts cost, not iterations: an iteration at a scale of h x w pixels costs
    h*w / the final scale's pixels, so that the quick iterations of the coarse scales do not
    make the ETA promise the fine ones too soon."""

    def __init__(self, iterations: int, enabled: bool = True):
        self.iterations, self.enabled = iterations, enabled
        self.bar = None
        self.position = 0.0
        self.sizes: list[tuple[int, int]] = []  # (height, width) of each scale, from the plan

    def __call__(self, event: PlanEvent | ProgressEvent) -> None:
        if isinstance(event, PlanEvent):
            self.sizes = [tuple(size) for size in event.scales]
            if self.enabled:
                self.planned(event)
            return
        costs = self.costs(event.scales)
        per_batch = sum(costs) * self.iterations
        position = (event.batch * per_batch + sum(costs[:event.scale]) * self.iterations
                    + costs[event.scale] * event.iteration)
        label = self.label(event)
        if self.bar is None:  # starting where a resumed run stands, so its rate is its own
            self.bar = self.open(per_batch * event.batches, position, label)
            self.position = position
        self.bar.set_description_str(label, refresh=False)
        self.bar.update(position - self.position)
        self.position = position
        self.bar.set_postfix_str(f"it={event.iteration}/{self.iterations}, "
                                 f"evals={event.evaluations}, loss={event.total_loss:.4g}")

    def costs(self, scales: int) -> list[float]:
        """The cost of an iteration at each scale, relative to one at the final scale."""
        if len(self.sizes) != scales:  # no plan seen: every scale alike
            return [1.0] * scales
        height, width = self.sizes[-1]
        return [h * w / (height * width) for h, w in self.sizes]

    def label(self, event: ProgressEvent) -> str:
        """'128px 1/3': the scale's long side and its place; the batch's too if several."""
        scale = f"{event.scale + 1}/{event.scales}"
        if len(self.sizes) == event.scales:
            scale = f"{max(self.sizes[event.scale])}px {scale}"
        if event.batches > 1:
            return f"batch {event.batch + 1}/{event.batches}, {scale}"
        return scale

    def open(self, total: float, initial: float, label: str):
        from tqdm import autonotebook, std
        from tqdm.auto import tqdm
        size = bar_size() if autonotebook.tqdm is std.tqdm else {}  # a widget sizes itself
        return tqdm(total=total, initial=initial, desc=label, disable=not self.enabled,
                    bar_format=BAR_FORMAT, **size)

    @staticmethod
    def planned(event: PlanEvent) -> None:
        from gatys_jax.engine.costs import human_bytes
        height, width = event.shape
        scales = (f", coarse to fine from {event.scales[0][1]}x{event.scales[0][0]}"
                  if len(event.scales) > 1 else "")
        # one write, so that Ctrl-C during it never leaves the line without its end
        sys.stderr.write(f"gatys-jax: {event.images} image(s) of {width}x{height} px "
                         f"in {event.batches} batch(es) of {event.batch_size}{scales}, "
                         f"{human_bytes(event.memory_per_image)} per image; compiling ...\n")
        sys.stderr.flush()
        for note in event.notes:
            print(f"gatys-jax: to fit in memory, {note}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
