"""The images a run makes: one job per (style, content weight, seed), each with its settings."""

from __future__ import annotations

import collections
import dataclasses
import itertools
from typing import Sequence

from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError


@dataclasses.dataclass(frozen=True)
class Job:
    """One output image: which style image (index into the run's styles), and its settings
    (the run's, with this image's content weight and seed)."""

    style: int
    config: StyleConfig


def job_product(config: StyleConfig, num_styles: int, content_weights: Sequence[float],
            seeds: Sequence[int]) -> list[Job]:
    """One job per (style, content weight, seed), style-major. Repeated values would make
    identical images under one name, so they are refused."""
    if num_styles < 1 or not len(content_weights) or not len(seeds):
        raise GatysError("need at least one style, one content weight and one seed")
    for name, values in (("content weights", content_weights), ("seeds", seeds)):
        repeated = [v for v, count in collections.Counter(values).items() if count > 1]
        if repeated:
            raise GatysError(f"the {name} repeat {repeated[0]!r}: each value makes one image")
    return [Job(style, config.replace(content_weight=weight, seed=seed))
            for style, weight, seed in itertools.product(range(num_styles), content_weights,
                                                         seeds)]
