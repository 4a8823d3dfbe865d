"""What a run tells its `on_update` callback: a PlanEvent once before compiling, then a
ProgressEvent after every compiled call."""

from __future__ import annotations

from typing import NamedTuple


class PlanEvent(NamedTuple):
    """The run as planned, before compiling (which can take a while)."""

    images: int
    shape: tuple[int, int]  # (height, width) of each output image
    batch_size: int  # images per compiled batch
    batches: int  # batches run one after another
    scales: list[tuple[int, int]]  # (height, width) of each coarse-to-fine scale
    memory_per_image: int  # bytes, at full size
    notes: list[str]  # what the memory plan changed to fit


class ProgressEvent(NamedTuple):
    """Where a run stands after a compiled call."""

    batch: int  # index of the batch running, of `batches`
    batches: int
    scale: int  # index of the scale running, of `scales`
    scales: int
    iteration: int  # steps taken at this scale
    evaluations: int  # loss+gradient evaluations at this scale (the most of any image)
    total_loss: float  # mean over the batch's images
    seconds: float  # since this scale started
