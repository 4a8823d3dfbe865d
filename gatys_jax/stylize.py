"""`stylize` and `stylize_batch`: the Python API, orchestration only.

Data flows one way: settings (StyleConfig) -> outputs checked and memory planned (from image
headers, before anything is loaded) -> images and weights loaded -> problem (targets, once) ->
compiled steps run by the driver -> Result -> files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import jax
import numpy as np

from . import batch, driver, inputs, outputs, plan, solvers, weights
from .config import StyleConfig
from .objective import Objective, build_problem, loss_weights
from .outputs import ImageResult, IntermediateSaver, Result


def _styles_list(styles) -> list:
    """One style (path, sample name or (H, W, 3) array) or a sequence of them -> a list."""
    single = isinstance(styles, (str, Path)) or (isinstance(styles, np.ndarray) and styles.ndim == 3)
    return [styles] if single else list(styles)


def _settings(config: StyleConfig | None, overrides: dict) -> StyleConfig:
    config = config or StyleConfig()
    return config.replace(**overrides) if overrides else config


def stylize(content, style, config: StyleConfig | None = None, *,
            output: str | Path | None = None, metrics: str | Path | None = None,
            on_update: Callable[[dict], None] | None = None, **settings) -> Result:
    """One image whose VGG19 content features match `content` and whose Gram matrices match
    `style` (Gatys et al. 2016).

    content, style: paths, sample names (`gatys-jax samples`) or RGB arrays (H, W, 3) in
    0..255. `config` and keyword `settings` (any StyleConfig field, e.g. size=256,
    optimizer=optax.adabelief(2.0)) give the settings. `output` (written atomically at the
    end and when interrupted) and `metrics` (Result.to_json()) are files to write. Returns a
    Result: `result.image` is the uint8 (H, W, 3) image.
    """
    return stylize_batch(content, [style], config, output=output, metrics=metrics,
                         on_update=on_update, **settings)


class RunPlan(NamedTuple):
    """A batch run as planned before anything is loaded."""

    jobs: list[batch.Job]
    shape: tuple[int, int]  # (height, width) of every image
    objective: Objective
    solver: solvers.Solver
    memory: plan.Memory  # per image
    batch_size: int  # images per compiled batch

    @property
    def batches(self) -> int:
        return -(-len(self.jobs) // self.batch_size)

    def evaluation_flops(self) -> int:
        return plan.evaluation_flops(self.objective, *self.shape)


def plan_batch(content, styles, config: StyleConfig | None = None, *,
               content_weights: Sequence[float] | None = None,
               seeds: Sequence[int] | None = None, **settings) -> RunPlan:
    """The jobs, image size, memory and batching of a `stylize_batch` call with the same
    arguments, from the content image's header alone."""
    config = _settings(config, settings)
    jobs = batch.product(config, len(_styles_list(styles)),
                         (config.content_weight,) if content_weights is None else content_weights,
                         (config.seed,) if seeds is None else seeds)
    height, width = inputs.output_shape(inputs.shape_of(content, config.max_megapixels),
                                        config.size)
    objective = Objective.from_config(config)
    solver = solvers.resolve(config.optimizer, config.learning_rate, config.history,
                             config.precondition)
    memory = plan.memory_per_image(objective, solver, height, width)
    num_devices = len(jax.devices()) if len(jobs) > 1 else 1
    size = plan.batch_size(len(jobs), memory, num_devices, config.max_batch,
                           plan.available_bytes(), height, width)
    return RunPlan(jobs, (height, width), objective, solver, memory, size)


def stylize_batch(content, styles, config: StyleConfig | None = None, *,
                  content_weights: Sequence[float] | None = None,
                  seeds: Sequence[int] | None = None, output: str | Path | None = None,
                  metrics: str | Path | None = None,
                  on_update: Callable[[dict], None] | None = None, **settings) -> Result:
    """One image per (style, content weight, seed), optimized together: the steps are vmapped
    over a batch (each image keeps its own optimizer state), the batch is sharded over all
    visible devices and split into chunks that fit in memory; one compilation serves every
    chunk. A single image compiles unbatched.

    content_weights, seeds: the values to combine (default: the config's one value each).
    `output` names files OUT_<style>_cw<lambda>_seed<N>.png after what varies (OUT itself for
    one image). on_update(progress) is called once before compiling with {phase: "compile",
    images, shape, batch_size, chunks, memory_per_image}, then after every compiled call with
    {phase: "run", chunk, chunks, iteration, evaluations, total_loss (mean over the batch),
    seconds}.
    """
    config = _settings(config, settings)
    style_list = _styles_list(styles)
    planned = plan_batch(content, style_list, config, content_weights=content_weights,
                         seeds=seeds)
    jobs, (height, width), objective, solver = planned[:4]
    chunk = planned.batch_size
    batched = chunk > 1
    names = outputs.style_names(style_list)
    output_files = outputs.output_paths(Path(output), jobs, names) if output else []
    outputs.check_paths(output_files, metrics, [content, *style_list], config.save_every,
                        config.iterations)

    content_rgb, style_rgbs = inputs.prepare(content, style_list, config.size,
                                             config.max_megapixels)
    vgg = weights.resolve(config.weights)
    mesh = batch.mesh() if batched else None
    params = batch.replicate(vgg.params, mesh) if batched else jax.device_put(vgg.params)
    problem = build_problem(objective, vgg, content_rgb, style_rgbs, params)

    def chunk_arrays(chunk_jobs: list) -> tuple:
        per_job = [(problem.x0(job.config, job.style), problem.targets[job.style],
                    loss_weights(job.config.content_weight, job.config.layer_weights))
                   for job in chunk_jobs]
        if not batched:
            return per_job[0]
        return batch.shard(batch.pad_batch(batch.stack(per_job), chunk), mesh)

    chunks = [jobs[i: i + chunk] for i in range(0, len(jobs), chunk)]
    first = chunk_arrays(chunks[0])
    x0, targets, weights_ = first
    if on_update:
        on_update({"phase": "compile", "images": len(jobs), "shape": (height, width),
                   "batch_size": chunk, "chunks": len(chunks),
                   "memory_per_image": planned.memory.total})
    compiled = driver.compile(solver, objective, x0, params, targets, weights_, batched=batched,
                              sharding=batch.batch_sharding(mesh) if batched else None)
    to_rgb = lambda x: np.reshape(problem.to_rgb(batch.to_host(x)), (-1, height, width, 3))
    results: list[ImageResult] = []
    start = time.perf_counter()
    for index, chunk_jobs in enumerate(chunks):
        x0, targets, weights_ = first if index == 0 else chunk_arrays(chunk_jobs)
        files = output_files[len(results): len(results) + len(chunk_jobs)]
        saver = IntermediateSaver(files, config.save_every, to_rgb) if config.save_every else None

        def progress(state, row, index=index, saver=saver, count=len(chunk_jobs)):
            iteration = int(batch.to_host(state.iteration))
            if saver:
                saver(iteration, state.x)
            if on_update:
                on_update({"phase": "run", "chunk": index, "chunks": len(chunks),
                           "iteration": iteration,
                           "evaluations": int(row[0][:count].max()),
                           "total_loss": float(np.mean(row[1][:count])), "seconds": row[2]})

        run = driver.run(compiled, x0, (params, targets, weights_), config.iterations, progress,
                         start)
        final = driver.losses(compiled, objective, run.state, params, targets, weights_)
        evaluations = batch.to_host(run.state.evaluations)
        if not batched:  # one image: give it the batch axis the loop below reads
            final, evaluations = jax.tree.map(lambda a: np.asarray(a)[None], (final, evaluations))
        entries = [ImageResult(
            image, names[job.style], job.config,
            {"content_loss": float(final.content[i]), "style_loss": float(final.style[i]),
             "total_loss": float(final.total[i]),
             "style_layer_losses": dict(zip(config.style_layers,
                                            map(float, final.style_layers[i])))},
            int(evaluations[i]), run.trace.history(i), files[i] if files else None)
            for i, (job, image) in enumerate(zip(chunk_jobs, to_rgb(run.state.x)))]
        outputs.save_images(entries)
        results.extend(entries)
        if run.interrupted:
            break
    result = Result(
        results, jobs[0].config,
        {"styles": names, "content_weights": list(dict.fromkeys(j.config.content_weight for j in jobs)),
         "seeds": list(dict.fromkeys(j.config.seed for j in jobs)),
         "learning_rate": solver.learning_rate, "weights": vgg.metadata.get("source", ""),
         "normalized": vgg.normalization is not None},
        (height, width), int(batch.to_host(run.state.iteration)),
        time.perf_counter() - start, compiled.seconds, chunk, len(chunks), compiled.chunk,
        run.interrupted,
        {"backend": jax.default_backend(), "device": str(jax.devices()[0].device_kind),
         "devices": len(jax.devices()),
         "state_devices": len(run.state.x.sharding.device_set)})
    if metrics:
        outputs.write_json(result.to_json(), metrics)
    return result
