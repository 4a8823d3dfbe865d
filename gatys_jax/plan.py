"""Job planning, before anything is loaded: the images a run makes, their sizes and scales
(from the content image's header), the settings under which they fit in memory, and how many
share one compiled batch (gatys_jax.engine.costs has the accounting)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Sequence

import jax
import numpy as np

from gatys_jax import build
from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs
from gatys_jax.engine.costs import (MEMORY_FRACTION, MIN_HISTORY, Memory, human_bytes,
                                    lbfgs_pair_bytes, memory_per_image)
from gatys_jax.errors import GatysError
from gatys_jax.io import inputs
from gatys_jax.jobs import Job, RunPlan, job_product, output_shape
from gatys_jax.model.convention import InputConvention
from gatys_jax.model.objective import Objective
from gatys_jax.optim.solvers import Solver
from gatys_jax.weights import h5


def fit(config: StyleConfig, objective: Objective, solver_of: Callable[[int], Solver],
        height: int, width: int, available: int) -> tuple[StyleConfig, Objective, list[str]]:
    """Settings under which one image of this size fits in MEMORY_FRACTION of `available`:
    as given; else with each VGG block recomputed in the backward pass; else also with the
    L-BFGS history shortened (to no fewer than MIN_HISTORY pairs). Returns (config, objective,
    notes saying what changed); unchanged when nothing fits (`batch_size` then refuses), or
    when config.max_batch says to try anyway. solver_of(history): the run's solver with that
    L-BFGS history."""
    budget = available * MEMORY_FRACTION

    def memory(history: int, objective: Objective) -> Memory:
        return memory_per_image(objective, solver_of(history), height, width)

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


def images_list(images) -> list:
    """One image (path, sample name or (H, W, 3) array) or a sequence of them -> a list."""
    single = isinstance(images, (str, Path)) or (isinstance(images, np.ndarray)
                                                 and images.ndim == 3)
    return [images] if single else list(images)


def with_settings(config: StyleConfig | None, overrides: dict) -> StyleConfig:
    config = config or StyleConfig()
    return config.replace(**overrides) if overrides else config


def _label(source) -> str:
    return inputs.name_of(source) or "an array"


def scales_of(contents: list, config: StyleConfig) -> list[tuple[int, int]]:
    """(height, width) of each coarse-to-fine scale, from the content images' headers; they
    must all give one output size (one compiled program serves them)."""
    found = {}
    for content in contents:
        shape = inputs.shape_of(content, config.max_megapixels)
        found.setdefault(tuple(output_shape(shape, side) for side in config.scales(shape)),
                         content)
    if len(found) > 1:
        (one, first), (other, second) = list(found.items())[:2]
        raise GatysError(f"the content images must give one output size: "
                         f"{_label(first)} gives {one[-1][1]}x{one[-1][0]} px, "
                         f"{_label(second)} {other[-1][1]}x{other[-1][0]}; crop them "
                         "to one aspect ratio, or run them apart")
    return list(next(iter(found)))


def plan_jobs(content, config: StyleConfig, jobs: list[Job], convention: InputConvention,
              transform=None) -> RunPlan:
    """Image sizes, memory and batching of `jobs` (whose static settings are `config`'s), from
    the content images' headers alone (`content`: one or several, all of one output size), for
    weights of this input `convention` and the named optimizer or an optax `transform`. An
    image too large for the memory is fitted (plan.fit: the plan's config and jobs then carry
    the fitted settings) or refused."""
    scales = scales_of(images_list(content), config)
    height, width = scales[-1]
    available = costs.available_bytes()
    fitted, objective, notes = fit(
        config, build.objective_of(config),
        lambda history: build.solver_of(config, convention, history, transform),
        height, width, available)
    if fitted.history != config.history:
        jobs = [dataclasses.replace(job, config=job.config.replace(history=fitted.history))
                for job in jobs]
    solver = build.solver_of(fitted, convention, transform=transform)
    memory = costs.memory_per_image(objective, solver, height, width)
    # one image alone runs unbatched on one device, unless several hosts share the run
    spread = len(jobs) > 1 or jax.process_count() > 1
    num_devices = len(jax.devices()) if spread else 1
    size = costs.batch_size(len(jobs), memory, num_devices, fitted.max_batch, available, height,
                           width)
    return RunPlan(fitted, jobs, (height, width), scales, objective, solver, memory, size,
                   notes)


def plan_batch(content, styles, config: StyleConfig | None = None, *,
               content_weights: Sequence[float] | None = None,
               seeds: Sequence[int] | None = None, convention: InputConvention | None = None,
               transform=None, **settings) -> RunPlan:
    """The plan (plan_jobs) of a `stylize_batch` call with the same arguments; `convention`:
    the weights' input convention (default: read from config.weights' header)."""
    config = with_settings(config, settings)
    if convention is None:
        convention = h5.convention_of(config.weights)
    targets = 1 if config.blend is not None else len(images_list(styles))
    jobs = job_product(config, targets,
                       (config.content_weight,) if content_weights is None else content_weights,
                       (config.seed,) if seeds is None else seeds, len(images_list(content)))
    return plan_jobs(content, config, jobs, convention, transform)
