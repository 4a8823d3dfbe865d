"""Job planning, before anything is loaded: the images a run makes, their sizes and scales
(from the content image's header), the settings under which they fit in memory, and how many
share one compiled batch (gatys_jax.engine.costs has the accounting)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple, Sequence

import jax
import numpy as np

from gatys_jax import build
from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs
from gatys_jax.engine.costs import (MEMORY_FRACTION, MIN_HISTORY, Memory, human_bytes,
                                    lbfgs_pair_bytes, memory_per_image)
from gatys_jax.io import images, inputs
from gatys_jax.jobs import Job, job_product
from gatys_jax.model.layers import check_size
from gatys_jax.model.objective import Objective
from gatys_jax.optim.solvers import Solver


def output_shape(content_shape: tuple[int, int], size: int | None) -> tuple[int, int]:
    """(height, width) of the optimized image for a content image of `content_shape`, long
    side `size` (None keeps it); GatysError when VGG19 cannot take it."""
    shape = images.size_for_long_side(*content_shape, size)
    check_size(*shape)
    return shape


def fit(config: StyleConfig, objective: Objective, height: int, width: int,
        available: int) -> tuple[StyleConfig, Objective, list[str]]:
    """Settings under which one image of this size fits in MEMORY_FRACTION of `available`:
    as given; else with each VGG block recomputed in the backward pass; else also with the
    L-BFGS history shortened (to no fewer than MIN_HISTORY pairs). Returns (config, objective,
    notes saying what changed); unchanged when nothing fits (`batch_size` then refuses), or
    when config.max_batch says to try anyway."""
    budget = available * MEMORY_FRACTION

    def memory(history: int, objective: Objective) -> Memory:
        return memory_per_image(objective, build.solver_of(config, history), height, width)

    if config.max_batch is not None or memory(config.history, objective).total <= budget:
        return config, objective, []
    remat = dataclasses.replace(objective, remat=True)
    note = (f"each VGG block is recomputed in the backward pass ({human_bytes(available)} "
            "free)")
    if memory(config.history, remat).total <= budget:
        return config, remat, [note]
    if config.optimizer in ("lbfgs", "lbfgsb"):
        pair = lbfgs_pair_bytes(height, width)
        history = int((budget - memory(0, remat).total) // pair) if pair else 0
        if history >= MIN_HISTORY:
            return (config.replace(history=history), remat,
                    [note, f"the L-BFGS history is shortened from {config.history} to "
                           f"{history} pairs to fit"])
    return config, objective, []


def styles_list(styles) -> list:
    """One style (path, sample name or (H, W, 3) array) or a sequence of them -> a list."""
    single = isinstance(styles, (str, Path)) or (isinstance(styles, np.ndarray) and styles.ndim == 3)
    return [styles] if single else list(styles)


def with_settings(config: StyleConfig | None, overrides: dict) -> StyleConfig:
    config = config or StyleConfig()
    return config.replace(**overrides) if overrides else config


class RunPlan(NamedTuple):
    """A batch run as planned before anything is loaded."""

    jobs: list[Job]
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


def plan_jobs(content, config: StyleConfig, jobs: list[Job]) -> RunPlan:
    """Image sizes, memory and batching of `jobs` (whose static settings are `config`'s), from
    the content image's header alone. An image too large for the memory is fitted (plan.fit:
    the jobs then carry the fitted settings) or refused."""
    content_shape = inputs.shape_of(content, config.max_megapixels)
    scales = [output_shape(content_shape, side) for side in config.scales(content_shape)]
    height, width = scales[-1]
    available = costs.available_bytes()
    fitted, objective, notes = fit(config, build.objective_of(config), height, width,
                                        available)
    if fitted.history != config.history:
        jobs = [dataclasses.replace(job, config=job.config.replace(history=fitted.history))
                for job in jobs]
    solver = build.solver_of(fitted)
    memory = costs.memory_per_image(objective, solver, height, width)
    # one image alone runs unbatched on one device, unless several hosts share the run
    spread = len(jobs) > 1 or jax.process_count() > 1
    num_devices = len(jax.devices()) if spread else 1
    size = costs.batch_size(len(jobs), memory, num_devices, fitted.max_batch, available, height,
                           width)
    return RunPlan(jobs, (height, width), scales, objective, solver, memory, size, notes)


def plan_batch(content, styles, config: StyleConfig | None = None, *,
               content_weights: Sequence[float] | None = None,
               seeds: Sequence[int] | None = None, **settings) -> RunPlan:
    """The plan (plan_jobs) of a `stylize_batch` call with the same arguments."""
    config = with_settings(config, settings)
    targets = 1 if config.blend is not None else len(styles_list(styles))
    jobs = job_product(config, targets,
                         (config.content_weight,) if content_weights is None else content_weights,
                         (config.seed,) if seeds is None else seeds)
    return plan_jobs(content, config, jobs)
