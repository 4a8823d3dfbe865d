"""The images a run makes: one job per (content, style, content weight, seed), each with its
settings, the size of each output image, and the run as planned (RunPlan)."""

from __future__ import annotations

import collections
import dataclasses
import itertools
from typing import NamedTuple, Sequence

from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs
from gatys_jax.errors import GatysError
from gatys_jax.io import images
from gatys_jax.model.layers import check_size
from gatys_jax.model.objective import Objective
from gatys_jax.optim.solvers import Solver


def output_shape(content_shape: tuple[int, int], size: int | None) -> tuple[int, int]:
    """(height, width) of the optimized image for a content image of `content_shape`, long
    side `size` (None keeps it); GatysError when VGG19 cannot take it."""
    shape = images.size_for_long_side(*content_shape, size)
    check_size(*shape)
    return shape


@dataclasses.dataclass(frozen=True)
class Job:
    """One output image: which style image (index into the run's styles), and its settings
    (the run's, with this image's content weight and seed)."""

    style: int
    config: StyleConfig
    content: int = 0  # which content image (index into the run's contents)


def job_product(config: StyleConfig, num_styles: int, content_weights: Sequence[float],
                seeds: Sequence[int], num_contents: int = 1) -> list[Job]:
    """One job per (content, style, content weight, seed), in that order. Repeated values
    would make identical images under one name, so they are refused."""
    if num_styles < 1 or not len(content_weights) or not len(seeds):
        raise GatysError("need at least one style, one content weight and one seed")
    for name, values in (("content weights", content_weights), ("seeds", seeds)):
        repeated = [v for v, count in collections.Counter(values).items() if count > 1]
        if repeated:
            raise GatysError(f"the {name} repeat {repeated[0]!r}: each value makes one image")
    return [Job(style, config.replace(content_weight=weight, seed=seed), content)
            for content, style, weight, seed in itertools.product(
                range(num_contents), range(num_styles), content_weights, seeds)]


class RunPlan(NamedTuple):
    """A batch run as planned before any image is loaded."""

    config: StyleConfig  # the run's static settings, fitted to the memory (plan.fit)
    jobs: list[Job]  # each with its own content weight, seed and style, fitted likewise
    shape: tuple[int, int]  # (height, width) of every output image
    scales: list[tuple[int, int]]  # (height, width) of each coarse-to-fine scale, the last = shape
    objective: Objective
    solver: Solver
    memory: costs.Memory  # per image, at full size
    batch_size: int  # images per compiled batch
    notes: list[str]  # what the memory plan changed to fit (plan.fit)

    @property
    def batches(self) -> int:
        return -(-len(self.jobs) // self.batch_size)

    def evaluation_flops(self) -> int:
        """FLOPs of one evaluation at full size."""
        return costs.evaluation_flops(self.objective, *self.shape)
