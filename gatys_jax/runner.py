"""The runner: batches of planned jobs through every coarse-to-fine scale, each scale one
resumable run of its compiled program, with the batch layout, the problems and the programs
made once. transfer.run_jobs drives it and turns what it returns into a Result.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import numpy as np

from gatys_jax import build, checkpoints, resumable
from gatys_jax.engine import batch, driver
from gatys_jax.event_log import EventLog
from gatys_jax.events import ProgressEvent
from gatys_jax.io import images
from gatys_jax.io.images import to_uint8
from gatys_jax.jobs import RunPlan
from gatys_jax.model.convention import from_network
from gatys_jax.problem import Images, Problem, scale_problem
from gatys_jax.weights.h5 import VGGWeights


class Scale(NamedTuple):
    """One scale of a run: its problem and its compiled steps (shared by every batch)."""

    problem: Problem
    compiled: driver.Compiled


class Runner:
    """Runs batches of jobs through every scale: the batch layout, the problems and the
    compiled programs, each made once."""

    def __init__(self, planned: RunPlan, sources: list[Images], vgg: VGGWeights,
                 on_update, keeper: checkpoints.Checkpoint | None = None,
                 start: np.ndarray | None = None):
        self.planned, self.config, self.on_update = planned, planned.config, on_update
        self.start = start  # RGB every image starts from, in place of config.init
        self.stop = build.stop_rule_of(planned.config)
        # the run's checkpoint file and what it held at the start, if any (one batch only)
        self.keeper = keeper
        self.saved = keeper.load(lambda notes: checkpoints.check_stylize_notes(
            notes, len(planned.jobs), len(planned.scales))) if keeper else None
        self.batched = planned.batch_size > 1 or jax.process_count() > 1
        self.mesh = batch.mesh() if self.batched else None
        self.params = (batch.replicate(vgg.params, self.mesh) if self.batched
                       else jax.device_put(vgg.params))
        # per scale, one problem per content image (sources: each content's Images)
        self.problems = [[scale_problem(self.config, source, planned.objective, vgg,
                                        self.params, shape) for source in sources]
                         for shape in planned.scales]
        self.scales: dict[int, Scale] = {}
        self.log: EventLog | None = None  # the event log of the batch running, if any
        self.compile_seconds = 0.0
        self.optimizing_seconds = 0.0  # in driver.run: compiling, scoring and saving apart

    def _arrays(self, problems: list[Problem], jobs: list, x0s: list[np.ndarray]) -> tuple:
        per_job = [(x0, problems[job.content].targets[job.style],
                    build.loss_weights_of(job.config))
                   for job, x0 in zip(jobs, x0s)]
        if not self.batched:
            return per_job[0]
        return batch.shard(batch.pad_batch(batch.stack(per_job), self.planned.batch_size),
                           self.mesh)

    def _scale(self, index: int, arrays: tuple) -> Scale:
        """The compiled steps of scale `index` (compiled at its first use)."""
        if index not in self.scales:
            x0, targets, weights_ = arrays
            compiled = driver.compile(
                self.planned.solver, self.planned.objective, x0, self.params, targets, weights_,
                batched=self.batched,
                sharding=batch.batch_sharding(self.mesh) if self.batched else None)
            self.compile_seconds += compiled.seconds
            self.scales[index] = Scale(self.problems[index][0], compiled)
        return self.scales[index]

    def rgb(self, problem: Problem, x, count: int) -> dict[int, np.ndarray]:
        """{job index: (H, W, 3) float RGB} of a state's x for the jobs whose images this
        process holds (all of them on one host), padding left out; not rounded (the next
        scale starts from it)."""
        indices, rows = batch.local_rows(x if self.batched else x[None])
        rows = from_network(np.reshape(rows, (-1,) + problem.shape + (3,)), problem.vgg.convention)
        return {i: row for i, row in zip(indices, rows) if i < count}

    def _x0s(self, k: int, jobs: list, rgb: dict | None) -> list[np.ndarray]:
        """The start of scale `k`: x_0 at the first, else the last scale's images resized
        (zeros stand in for another host's images and for a resumed scale's)."""
        problems = self.problems[k]
        problem = problems[0]  # the shape and convention every content's problem shares
        if k == 0 and rgb is None and self.start is not None:
            return [problem.to_network(images.resize(self.start, *problem.shape))] * len(jobs)
        if k == 0 and rgb is None:
            return [problems[job.content].x0(job.config, job.style) for job in jobs]
        return [problem.to_network(images.resize(rgb[i], *problem.shape))
                if rgb is not None and i in rgb else np.zeros(problem.shape + (3,), np.float32)
                for i in range(len(jobs))]

    def run(self, index: int, jobs: list, saver) -> tuple:
        """Every scale for batch `index` (the last one that ran, if interrupted): (driver.Run,
        its Scale, its arrays (x0, targets, weights), {job index: RGB image (float) at full
        size} of the images this process holds, the history of every image across scales).
        With a checkpoint, the run goes on from the saved scale and state and saves them as
        it goes, when a scale ends and when interrupted."""
        saved = self.saved
        first = saved.notes["scale"] if saved else 0
        histories = saved.notes["histories"] if saved else [[] for _ in jobs]
        rgb = None
        for k in range(first, len(self.problems)):
            problem, resume = self.problems[k][0], saved is not None and k == first
            arrays = self._arrays(self.problems[k], jobs,
                                  self._x0s(k, jobs, None if resume else rgb))
            scale, last = self._scale(k, arrays), k == len(self.problems) - 1
            if resume:  # the seconds the saved run optimized count towards this one
                self.optimizing_seconds = saved.notes["seconds"]
            before = self.optimizing_seconds  # in the scales before this one
            offsets = np.array([h[-1]["evaluations"] if h else 0 for h in histories], int)
            log = self._logger(scale, arrays, offsets)
            run = resumable.run(
                scale.compiled, arrays[0], (self.params, *arrays[1:]), self.stop,
                keeper=self.keeper, saved=saved if resume else None,
                notes=lambda: {"scale": k, "histories": histories, "seconds": before},
                on_update=self._progress(index, k, len(jobs), saver if last else None, resume,
                                         log),
                to_pixels=lambda x: from_network(x, problem.vgg.convention))
            if log:
                log(run.state, run.trace.rows[-1], scale_ends=True)
            # a restored trace's clock goes on from the saved run's seconds in this scale
            self.optimizing_seconds = before + time.perf_counter() - run.trace.start
            for i, history in enumerate(histories):
                history.extend({**row, "evaluations": row["evaluations"] + int(offsets[i]),
                                "size": list(problem.shape)} for row in run.trace.history(i))
            rgb = self.rgb(problem, run.state.x, len(jobs))
            if run.interrupted:
                break
        final_shape = self.problems[-1][0].shape
        return run, scale, arrays, {i: images.resize(image, *final_shape)
                                    for i, image in rgb.items()}, histories

    def end_log(self, entries: list) -> None:
        """Close the batch's event log (if any) with the yardstick and settings of its
        finished images (outputs.ImageResult; none for a batch that is dropped)."""
        if self.log is not None:
            self.log.finish(entries)
            self.log = None

    def _logger(self, scale: Scale, arrays: tuple, offsets: np.ndarray):
        """log(state, row, scale_ends=False): the event log's part of on_update at this
        scale (every total; the terms and a snapshot when due); None without an event log."""
        if self.log is None:
            return None
        count, problem = len(offsets), scale.problem
        self.log.new_scale()

        def log(state, row: driver.TraceRow, scale_ends: bool = False) -> None:
            evaluations = row.evaluations[:count] + offsets
            if not scale_ends:
                self.log.totals(evaluations, row.totals[:count])
            if self.log.due(int(batch.to_host(state.iteration)), scale_ends):
                losses = driver.losses(scale.compiled, problem.objective, state, self.params,
                                       *arrays[1:])
                weights = arrays[2]
                if not self.batched:  # give one image the batch axis the log reads
                    losses, weights = jax.tree.map(lambda a: np.asarray(a)[None],
                                                   (losses, weights))
                self.log.terms(evaluations, losses, weights, self.config.style_layers,
                               {i: to_uint8(image) for i, image
                                in self.rgb(problem, state.x, count).items()})

        return log

    def _progress(self, index: int, scale: int, count: int, saver, resumed: bool, log):
        """The driver's on_update for scale number `scale` of batch `index`: intermediate
        images (a resumed run's, up to where it stands, were written before it stopped), the
        event log and on_update's ProgressEvent."""
        first_call = [True]

        def progress(state, row: driver.TraceRow):
            iteration = int(batch.to_host(state.iteration))
            if log:
                log(state, row)
            if saver and resumed and first_call[0]:
                saver.passed(iteration)
            elif saver:
                saver(iteration, state.x)
            first_call[0] = False
            if self.on_update:
                self.on_update(ProgressEvent(
                    index, self.planned.batches, scale, len(self.problems), iteration,
                    int(row.evaluations[:count].max()), float(np.mean(row.totals[:count])),
                    row.seconds))

        return progress
