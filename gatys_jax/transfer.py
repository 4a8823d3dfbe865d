"""`stylize` and `stylize_batch`: the Python API, orchestration only.

Data flows one way: settings (StyleConfig) -> outputs checked and memory planned (from image
headers, before anything is loaded) -> images and weights loaded -> problem (targets, once per
scale) -> compiled steps run by the driver, scale after scale -> Result -> files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import jax
import numpy as np

from gatys_jax import build, checkpoints, outputs, quality
from gatys_jax.config import StyleConfig
from gatys_jax.engine import batch, driver
from gatys_jax.errors import GatysError
from gatys_jax.io import images, inputs
from gatys_jax.io.images import to_uint8
from gatys_jax.model.convention import from_network
from gatys_jax.outputs import ImageResult, IntermediateSaver, Result
from gatys_jax.plan import RunPlan, plan_batch, styles_list, with_settings
from gatys_jax.problem import Images, Problem, finish_image, prepare_images, scale_problem
from gatys_jax.weights import h5


def stylize(content, style, config: StyleConfig | None = None, *,
            output: str | Path | None = None, metrics: str | Path | None = None,
            checkpoint: str | Path | None = None,
            on_update: Callable[[dict], None] | None = None, **settings) -> Result:
    """One image whose VGG19 content features match `content` and whose Gram matrices match
    `style` (Gatys et al. 2016).

    content, style: paths, sample names (`gatys-jax samples`) or RGB arrays (H, W, 3) in
    0..255. `config` and keyword `settings` (any StyleConfig field, e.g. size=256,
    optimizer=optax.adabelief(2.0)) give the settings. `output` (written atomically at the
    end and when interrupted) and `metrics` (Result.to_json()) are files to write;
    `checkpoint` keeps the optimizer's state as the run goes on (see stylize_batch). Returns
    a Result: `result.image` is the uint8 (H, W, 3) image.
    """
    return stylize_batch(content, [style], config, output=output, metrics=metrics,
                         checkpoint=checkpoint, on_update=on_update, **settings)


class _Scale(NamedTuple):
    """One scale of a run: its problem and its compiled steps (shared by every chunk)."""

    problem: Problem
    compiled: driver.Compiled


class _Runner:
    """Runs chunks of jobs through every scale: the batch layout, the problems and the
    compiled programs, each made once."""

    def __init__(self, planned: RunPlan, config: StyleConfig, source: Images, vgg,
                 on_update, keeper: checkpoints.Checkpoint | None = None):
        self.planned, self.config, self.on_update = planned, config, on_update
        # the run's checkpoint file and what it held at the start, if any (one chunk only)
        self.keeper = keeper
        self.saved = keeper.load(lambda notes: checkpoints.check_stylize_notes(
            notes, len(planned.jobs), len(planned.scales))) if keeper else None
        self.batched = planned.batch_size > 1 or jax.process_count() > 1
        self.mesh = batch.mesh() if self.batched else None
        self.params = (batch.replicate(vgg.params, self.mesh) if self.batched
                       else jax.device_put(vgg.params))
        self.problems = [scale_problem(config, source, planned.objective, vgg, self.params,
                                          shape)
                         for shape in planned.scales]
        self.scales: dict[int, _Scale] = {}
        self.compile_seconds = 0.0
        self.optimizing_seconds = 0.0  # in driver.run: compiling, scoring and saving apart

    def _arrays(self, problem: Problem, jobs: list, x0s: list[np.ndarray]) -> tuple:
        per_job = [(x0, problem.targets[job.style], build.loss_weights_of(job.config))
                   for job, x0 in zip(jobs, x0s)]
        if not self.batched:
            return per_job[0]
        return batch.shard(batch.pad_batch(batch.stack(per_job), self.planned.batch_size),
                           self.mesh)

    def _scale(self, index: int, arrays: tuple) -> _Scale:
        """The compiled steps of scale `index` (compiled at its first use)."""
        if index not in self.scales:
            x0, targets, weights_ = arrays
            compiled = driver.compile(
                self.planned.solver, self.planned.objective, x0, self.params, targets, weights_,
                batched=self.batched,
                sharding=batch.batch_sharding(self.mesh) if self.batched else None)
            self.compile_seconds += compiled.seconds
            self.scales[index] = _Scale(self.problems[index], compiled)
        return self.scales[index]

    def rgb(self, problem: Problem, x, count: int) -> dict[int, np.ndarray]:
        """{job index: (H, W, 3) float RGB} of a state's x for the jobs whose images this
        process holds (all of them on one host), padding left out; not rounded (the next
        scale starts from it)."""
        indices, rows = batch.local_rows(x if self.batched else x[None])
        rows = from_network(np.reshape(rows, (-1,) + problem.shape + (3,)), problem.vgg.convention)
        return {i: row for i, row in zip(indices, rows) if i < count}

    def run(self, index: int, chunk_jobs: list, saver) -> tuple:
        """Every scale for one chunk (the last one that ran, if interrupted): (driver.Run, its
        _Scale, its arrays (x0, targets, weights), {job index: RGB image (float) at full
        size} of the images this process holds, the history of every image across scales).
        With a checkpoint, the run goes on from the saved scale and state and saves them as
        it goes, when a scale ends and when interrupted."""
        saved = self.saved
        histories = saved.notes["histories"] if saved else [[] for _ in chunk_jobs]
        rgb = None
        for k, problem in enumerate(self.problems):
            if saved and k < saved.notes["scale"]:
                continue
            resume = saved is not None and k == saved.notes["scale"]
            if k == 0 and not resume:
                x0s = [problem.x0(job.config, job.style) for job in chunk_jobs]
            else:  # zeros stand in for another host's images and for a resumed scale's
                x0s = [problem.to_network(images.resize(rgb[i], *problem.shape))
                       if rgb is not None and i in rgb
                       else np.zeros(problem.shape + (3,), np.float32)
                       for i in range(len(chunk_jobs))]
            arrays = self._arrays(problem, chunk_jobs, x0s)
            scale = self._scale(k, arrays)
            last = k == len(self.problems) - 1
            state = driver.restore(scale.compiled, saved.leaves) if resume else None
            if resume:  # the seconds the saved run optimized count towards this one
                self.optimizing_seconds = saved.notes["seconds"]
            before = self.optimizing_seconds  # in the scales before this one
            # what a checkpoint of this scale holds besides the state and trace (the
            # histories grow only once the scale has ended)
            notes = {"scale": k, "histories": histories, "seconds": before}
            if resume and saver and last:  # its images up to here were written before
                saver.passed(int(batch.to_host(state.iteration)))
            trace = driver.Trace.restore(saved.trace) if resume else driver.Trace(
                time.perf_counter())
            progress = self._progress(index, k, len(chunk_jobs), saver if last else None,
                                      trace, notes)
            run = driver.run(scale.compiled, arrays[0], (self.params, *arrays[1:]),
                             self.config.iterations, progress,
                             tolerance=self.config.stop_tolerance,
                             window=self.config.stop_window, pixels=self.config.stop_pixels,
                             to_pixels=lambda x: from_network(x, problem.vgg.convention),
                             trace=trace, state=state)
            # a restored trace's clock goes on from the saved run's seconds in this scale
            self.optimizing_seconds = before + time.perf_counter() - trace.start
            if self.keeper:  # the scale's end (the next one starts from it) or the stop
                self.keeper.save(run.state, run.trace, notes)
            offset = [h[-1]["evaluations"] if h else 0 for h in histories]
            for i, history in enumerate(histories):
                history.extend({**row, "evaluations": row["evaluations"] + offset[i],
                                "size": list(problem.shape)} for row in run.trace.history(i))
            rgb = self.rgb(problem, run.state.x, len(chunk_jobs))
            if run.interrupted:
                break
        final_shape = self.problems[-1].shape
        return run, scale, arrays, {i: images.resize(image, *final_shape)
                                    for i, image in rgb.items()}, histories

    def _progress(self, chunk: int, scale: int, count: int, saver, trace: driver.Trace,
                  notes: dict):
        """The driver's on_update for scale number `scale` of a chunk: intermediate images,
        the checkpoint when due (with `notes`: the scale, and the histories and optimizing
        seconds of the scales before) and on_update."""
        chunks, scales = self.planned.batches, len(self.problems)

        def progress(state, row):
            iteration = int(batch.to_host(state.iteration))
            if saver:
                saver(iteration, state.x)
            if self.keeper and self.keeper.due():
                self.keeper.save_or_warn(state, trace, notes)
            if self.on_update:
                self.on_update({"phase": "run", "chunk": chunk, "chunks": chunks,
                                "scale": scale, "scales": scales, "iteration": iteration,
                                "evaluations": int(row[0][:count].max()),
                                "total_loss": float(np.mean(row[1][:count])),
                                "seconds": row[2]})

        return progress


def stylize_batch(content, styles, config: StyleConfig | None = None, *,
                  content_weights: Sequence[float] | None = None,
                  seeds: Sequence[int] | None = None, output: str | Path | None = None,
                  metrics: str | Path | None = None, checkpoint: str | Path | None = None,
                  on_update: Callable[[dict], None] | None = None, **settings) -> Result:
    """One image per (style, content weight, seed), optimized together: the steps are vmapped
    over a batch (each image keeps its own optimizer state), the batch is sharded over all
    visible devices and split into chunks that fit in memory; one compilation per scale
    serves every chunk. A single image compiles unbatched. With `start_size`, every image is
    optimized at each coarse-to-fine scale in turn for `iterations` steps.

    content_weights, seeds: the values to combine (default: the config's one value each).
    `output` names files OUT_<style>_cw<lambda>_seed<N>.png after what varies (OUT itself for
    one image). `checkpoint` names a file that keeps the optimizer's state every
    checkpoints.EVERY_SECONDS and when a signal stops the run: a later call with the same
    settings and images goes on from it (one with a higher `iterations` goes on past the
    cap); it is removed once the run finishes, but kept when an image reached the cap
    unconverged (Result.ends_unconverged). It needs every image in one batch.
    on_update(progress) is called once before compiling with {phase: "compile", images,
    shape, batch_size, chunks, scales, memory_per_image, notes}, then after every compiled
    call with {phase: "run", chunk, chunks, scale, scales, iteration, evaluations,
    total_loss (mean over the batch), seconds}.
    """
    config = with_settings(config, settings)
    style_list = styles_list(styles)
    planned = plan_batch(content, style_list, config, content_weights=content_weights,
                         seeds=seeds)
    names = outputs.style_names(style_list)
    output_files = outputs.output_paths(Path(output), planned.jobs, names) if output else []
    outputs.check_paths(output_files, metrics, outputs.run_reads(content, style_list, config),
                        config.save_every, config.iterations, checkpoint)
    if checkpoint is not None and (planned.batches > 1 or jax.process_count() > 1):
        raise GatysError(f"--checkpoint needs every image in one batch on one process, and "
                         f"this run takes {planned.batches} batches on {jax.process_count()} "
                         "process(es): run fewer images at once, or no checkpoint")
    if checkpoint is not None and not isinstance(config.optimizer, str):
        raise GatysError("a checkpoint needs an optimizer named in the settings (its state "
                         "cannot tell one optax transform from another): name one, or no "
                         "checkpoint")
    result = run_jobs(content, style_list, config, planned, output_files, on_update,
                      checkpoint=checkpoint)
    if metrics:
        outputs.write_json(result.to_json(), _process_path(Path(metrics)))
    # only once everything is written, and not while a higher cap could still go on from it
    if checkpoint is not None and not result.interrupted and not result.ends_unconverged:
        Path(checkpoint).unlink(missing_ok=True)
    return result


def _process_path(path: Path) -> Path:
    """`path` itself, or with several processes, each process's own file (NAME.p<i>.json):
    each holds the images that process wrote."""
    if jax.process_count() == 1:
        return path
    return path.with_name(f"{path.stem}.p{jax.process_index()}{path.suffix}")


def run_jobs(content, styles: list, config: StyleConfig, planned: RunPlan,
             output_files: list[Path], on_update: Callable[[dict], None] | None = None,
             on_chunk: Callable[[list[ImageResult]], None] | None = None,
             keep_interrupted: bool = True, checkpoint: str | Path | None = None) -> Result:
    """Run planned jobs (plan_jobs) against `styles` (each job's `style` indexes them; a blend
    mixes them all), writing each image to its file in `output_files` (if any), once the
    paths are checked (outputs.check_paths). stylize_batch's work after its planning.

    on_chunk(images) is called after every finished batch; keep_interrupted: a batch stopped
    by a signal still writes its latest images (else it is dropped). `checkpoint`: the file
    that keeps the state of a run of one batch (stylize_batch; one of another run is
    refused here, before the targets are made). Across several hosts,
    each process writes and returns the images its devices hold."""
    names = outputs.style_names(styles)
    content_rgb = inputs.read(content, config.max_megapixels)
    style_rgbs = [inputs.read(style, config.max_megapixels) for style in styles]
    source = prepare_images(config, content_rgb, style_rgbs)
    if config.blend is not None:
        names = ["+".join(names)]
    vgg = h5.resolve(config.weights)
    if on_update:
        on_update({"phase": "compile", "images": len(planned.jobs), "shape": planned.shape,
                   "batch_size": planned.batch_size, "chunks": planned.batches,
                   "scales": [list(shape) for shape in planned.scales],
                   "memory_per_image": planned.memory.total, "notes": planned.notes})
    keeper = (checkpoints.Checkpoint(checkpoint, checkpoints.run_key(
        config, checkpoints.weights_identity(vgg),
        checkpoints.source_arrays(source), planned.jobs))
        if checkpoint is not None else None)
    runner = _Runner(planned, config, source, vgg, on_update, keeper)
    original = images.resize(content_rgb, *planned.shape)
    yardsticks = ([quality.Yardstick(vgg, original, style_rgbs, config.blend)]
                  if config.blend is not None else
                  [quality.Yardstick(vgg, original, [style]) for style in style_rgbs])
    results: list[ImageResult] = []
    finished = lambda rgb: {i: to_uint8(finish_image(config, source, image))
                            for i, image in rgb.items()}
    for index in range(planned.batches):
        first = index * planned.batch_size
        chunk_jobs = planned.jobs[first: first + planned.batch_size]
        files = output_files[first: first + len(chunk_jobs)]
        saver = (IntermediateSaver(files, config.save_every,
                                   lambda x: finished(runner.rgb(runner.problems[-1], x,
                                                                 len(files))))
                 if config.save_every and files else None)
        run, scale, arrays, rgb, histories = runner.run(index, chunk_jobs, saver)
        if run.interrupted and not keep_interrupted:
            break
        entries = _entries(config, runner, run, scale, arrays, finished(rgb), histories,
                           chunk_jobs, files, names, yardsticks)
        outputs.save_images(entries)
        results.extend(entries)
        if run.interrupted:
            break
        if on_chunk:
            on_chunk(entries)
    return _result(planned, results, names, vgg, runner, run, scale, yardsticks)


def _entries(config: StyleConfig, runner: _Runner, run: driver.Run, scale: _Scale, arrays: tuple,
             finished: dict[int, np.ndarray], histories: list, chunk_jobs: list, files: list,
             names: list[str], yardsticks: list) -> list[ImageResult]:
    """The ImageResults of one finished chunk: each image (uint8, by job index) with its
    losses, history, convergence and yardstick."""
    losses = driver.losses(scale.compiled, scale.problem.objective, run.state, runner.params,
                           *arrays[1:])
    if not runner.batched:  # one image: give it the batch axis the loop below reads
        losses = jax.tree.map(lambda a: np.asarray(a)[None], losses)
    converged = run.trace.converged(config.stop_tolerance, config.stop_window,
                                    config.stop_pixels)
    return [ImageResult(
        image, names[chunk_jobs[i].style], chunk_jobs[i].config,
        {"content_loss": float(losses.content[i]), "style_loss": float(losses.style[i]),
         "tv_loss": float(losses.tv[i]), "total_loss": float(losses.total[i]),
         "style_layer_losses": dict(zip(config.style_layers,
                                        map(float, losses.style_layers[i])))},
        histories[i][-1]["evaluations"], histories[i],
        yardsticks[chunk_jobs[i].style](image), files[i] if files else None,
        None if converged is None else bool(converged[i]))
        for i, image in finished.items()]


def _result(planned: RunPlan, results: list[ImageResult], names: list[str], vgg, runner: _Runner,
            run: driver.Run, scale: _Scale, yardsticks: list) -> Result:
    """The Result of a run: its images, its settings and the facts of how it ran."""
    return Result(
        results, planned.jobs[0].config,
        {"styles": names,
         "content_weights": list(dict.fromkeys(j.config.content_weight for j in planned.jobs)),
         "seeds": list(dict.fromkeys(j.config.seed for j in planned.jobs)),
         "scales": [list(shape) for shape in planned.scales],
         "learning_rate": planned.solver.learning_rate,
         "weights": vgg.metadata.get("source", ""), "normalized": vgg.normalization is not None,
         "memory_plan": {"per_image": planned.memory._asdict(), "notes": planned.notes,
                         "remat": planned.objective.remat,
                         "step_program": driver.program_bytes(scale.compiled)}},
        planned.shape, int(batch.to_host(run.state.iteration)), runner.optimizing_seconds,
        runner.compile_seconds, planned.batch_size, planned.batches, scale.compiled.chunk,
        {name: yardstick.references() for name, yardstick in zip(names, yardsticks)},
        run.interrupted,
        {"backend": jax.default_backend(), "device": str(jax.devices()[0].device_kind),
         "devices": len(jax.devices()),
         "state_devices": len(run.state.x.sharding.device_set)})
