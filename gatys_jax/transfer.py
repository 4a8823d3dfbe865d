"""`stylize` and `stylize_batch`: the Python API, orchestration only.

Data flows one way: settings (StyleConfig) -> outputs checked and memory planned (from image
headers, before anything is loaded) -> images and weights loaded -> problem (targets, once per
scale) -> compiled steps run by the driver, scale after scale -> Result -> files.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Sequence

import jax
import numpy as np

from gatys_jax import checkpoints, outputs, quality, record
from gatys_jax.config import StyleConfig
from gatys_jax.engine import batch, driver
from gatys_jax.errors import GatysError
from gatys_jax.event_log import EventLog, check_available
from gatys_jax.events import PlanEvent, ProgressEvent
from gatys_jax.io import images, inputs
from gatys_jax.io.images import to_uint8
from gatys_jax.jobs import RunPlan
from gatys_jax.outputs import ImageResult, IntermediateSaver, Result
from gatys_jax.plan import images_list, plan_batch, with_settings
from gatys_jax.problem import Masks, finish_image, mask_sources, prepare_images
from gatys_jax.progress_bar import Progress
from gatys_jax.runner import Runner, Scale
from gatys_jax.weights import h5
from gatys_jax.weights.h5 import VGGWeights


def stylize(content, style, config: StyleConfig | None = None, *,
            output: str | Path | None = None, metrics: str | Path | None = None,
            checkpoint: str | Path | None = None,
            on_update: Callable[[PlanEvent | ProgressEvent], None] | None = None,
            vgg: VGGWeights | None = None, transform=None, masks: Masks | None = None,
            log_dir: str | Path | None = None, log_every: int = 25,
            start: np.ndarray | None = None, progress: bool = False, **settings) -> Result:
    """One image whose VGG19 content features match `content` and whose Gram matrices match
    `style` (Gatys et al. 2016).

    content, style: paths, sample names (`gatys-jax samples`) or RGB arrays (H, W, 3) in
    0..255. `config` and keyword `settings` (any StyleConfig field, e.g. size=256) give the
    settings. `output` (written atomically at the end and when interrupted) and `metrics`
    (Result.to_json()) are files to write; `checkpoint` keeps the optimizer's state as the
    run goes on (see stylize_batch). Objects that are not settings are arguments: `vgg`
    loaded weights in place of config.weights' file, `transform` an optax
    GradientTransformation in place of config.optimizer, `masks` region masks (arrays too)
    in place of config's mask files. `log_dir`: TensorBoard event files (gatys_jax.event_log),
    the loss terms and a snapshot every `log_every` iterations. `start`: an RGB image
    (H, W, 3) in 0..255 to start from in place of config.init (resized). progress: a bar
    (tqdm.auto: a widget in Jupyter) when no on_update is given. Returns a Result:
    `result.image` is the uint8 (H, W, 3) image.
    """
    return stylize_batch(content, [style], config, output=output, metrics=metrics,
                         checkpoint=checkpoint, on_update=on_update, vgg=vgg,
                         transform=transform, masks=masks, log_dir=log_dir,
                         log_every=log_every, start=start, progress=progress, **settings)


def stylize_batch(content, styles, config: StyleConfig | None = None, *,
                  content_weights: Sequence[float] | None = None,
                  seeds: Sequence[int] | None = None, output: str | Path | None = None,
                  metrics: str | Path | None = None, checkpoint: str | Path | None = None,
                  on_update: Callable[[PlanEvent | ProgressEvent], None] | None = None,
                  vgg: VGGWeights | None = None, transform=None, masks: Masks | None = None,
                  log_dir: str | Path | None = None, log_every: int = 25,
                  start: np.ndarray | None = None, progress: bool = False,
                  **settings) -> Result:
    """One image per (style, content weight, seed), optimized together: the steps are vmapped
    over a batch (each image keeps its own optimizer state), the batch is sharded over all
    visible devices and split into batches that fit in memory; one compilation per scale
    serves every batch. A single image compiles unbatched. With `start_size`, every image is
    optimized at each coarse-to-fine scale in turn for `iterations` steps.

    content_weights, seeds: the values to combine (default: the config's one value each).
    `output` names files OUT_<style>_cw<lambda>_seed<N>.png after what varies (OUT itself for
    one image). `checkpoint` names a file that keeps the optimizer's state every
    checkpoints.EVERY_SECONDS and when a signal stops the run: a later call with the same
    settings and images goes on from it (one with a higher `iterations` goes on past the
    cap); it is removed once the run finishes, but kept when an image reached the cap
    unconverged (Result.ends_unconverged). It needs every image in one batch and a named
    optimizer. on_update gets a PlanEvent before compiling, then a ProgressEvent after every
    compiled call. vgg, transform, masks, log_dir, log_every, start, progress: see stylize.
    """
    config = with_settings(config, settings)
    style_list, contents = images_list(styles), images_list(content)
    if log_dir is not None:
        check_available()
        if not (isinstance(log_every, int) and log_every >= 1):
            raise GatysError(f"log_every must be a whole number >= 1, got {log_every!r}")
    if checkpoint is not None and transform is not None:
        raise GatysError("a checkpoint needs an optimizer named in the settings (its state "
                         "cannot tell one optax transform from another): name one, or no "
                         "checkpoint")
    vgg = h5.resolve(config.weights) if vgg is None else vgg
    planned = plan_batch(content, style_list, config, content_weights=content_weights,
                         seeds=seeds, convention=vgg.convention, transform=transform)
    names = outputs.style_names(style_list)
    output_files = (outputs.output_paths(Path(output), planned.jobs, names,
                                         outputs.style_names(contents, "content"))
                    if output else [])
    outputs.check_paths(output_files, metrics,
                        outputs.run_reads(contents, style_list, config, masks),
                        config.save_every, config.iterations, checkpoint)
    if checkpoint is not None and (planned.batches > 1 or jax.process_count() > 1):
        raise GatysError(f"--checkpoint needs every image in one batch on one process, and "
                         f"this run takes {planned.batches} batches on {jax.process_count()} "
                         "process(es): run fewer images at once, or no checkpoint")
    with _progress_bar(progress, on_update, config.iterations) as on_update:
        result = run_jobs(content, style_list, planned, vgg, output_files, on_update,
                          checkpoint=checkpoint, masks=masks, log_dir=log_dir,
                          log_every=log_every,
                          start=None if start is None else inputs.read(start))
    if metrics:
        outputs.write_json(result.to_json(), _process_path(Path(metrics)))
    # only once everything is written, and not while a higher cap could still go on from it
    if checkpoint is not None and not result.interrupted and not result.ends_unconverged:
        Path(checkpoint).unlink(missing_ok=True)
    return result


@contextlib.contextmanager
def _progress_bar(wanted: bool, on_update, iterations: int):
    """on_update as given, or with `wanted` and none given, a progress bar (closed after)."""
    if not wanted or on_update is not None:
        yield on_update
        return
    bar = Progress(iterations, True)
    try:
        yield bar
    finally:
        bar.close()


def _process_path(path: Path) -> Path:
    """`path` itself, or with several processes, each process's own file (NAME.p<i>.json):
    each holds the images that process wrote."""
    if jax.process_count() == 1:
        return path
    return path.with_name(f"{path.stem}.p{jax.process_index()}{path.suffix}")


def run_jobs(content, styles: list, planned: RunPlan, vgg: VGGWeights,
             output_files: list[Path],
             on_update: Callable[[PlanEvent | ProgressEvent], None] | None = None,
             on_batch: Callable[[list[ImageResult]], None] | None = None,
             keep_interrupted: bool = True, checkpoint: str | Path | None = None,
             masks: Masks | None = None, log_dir: str | Path | None = None,
             log_every: int = 25, start: np.ndarray | None = None) -> Result:
    """stylize_batch's work after its planning: run planned jobs against `styles` (a job's
    `style` indexes them; a blend mixes them all), writing each image to its file in
    `output_files` (if any; outputs.check_paths checked them). on_batch(images) follows every
    finished batch; keep_interrupted: a batch stopped by a signal still writes its images
    (else it is dropped). checkpoint, masks, log_dir, log_every, start: as in stylize_batch
    (start read already). Across
    several hosts, each process writes and returns the images its devices hold."""
    config, contents = planned.config, images_list(content)
    names = outputs.style_names(styles)
    read, content_rgbs, style_rgbs, sources = _read_images(config, contents, styles, masks)
    if config.blend is not None:
        names = ["+".join(names)]
    if on_update:
        on_update(PlanEvent(len(planned.jobs), planned.shape, planned.batch_size,
                            planned.batches, list(planned.scales), planned.memory.total,
                            planned.notes))
    keeper = (checkpoints.Checkpoint(checkpoint, checkpoints.run_key(
        config, checkpoints.weights_identity(vgg),
        [array for source in sources for array in checkpoints.source_arrays(source)]
        + ([] if start is None else [start]), planned.jobs)) if checkpoint is not None else None)
    runner = Runner(planned, sources, vgg, on_update, keeper, start)
    yardsticks = [_yardsticks(config, vgg, images.resize(rgb, *planned.shape), style_rgbs)
                  for rgb in content_rgbs]
    run_names = _run_names(planned, names, contents)
    results: list[ImageResult] = []
    finished = lambda rgb, jobs: {i: to_uint8(finish_image(config, sources[jobs[i].content], x))
                                  for i, x in rgb.items()}
    for index in range(planned.batches):
        first = index * planned.batch_size
        batch_jobs = planned.jobs[first: first + planned.batch_size]
        files = output_files[first: first + len(batch_jobs)]
        saver = (IntermediateSaver(files, config.save_every, lambda x, jobs=batch_jobs: finished(
            runner.rgb(runner.problems[-1][0], x, len(jobs)), jobs))
            if config.save_every and files else None)
        runner.log = (EventLog(log_dir, run_names[first: first + len(batch_jobs)], log_every)
                      if log_dir is not None else None)
        run, scale, arrays, rgb, histories = runner.run(index, batch_jobs, saver)
        dropped = run.interrupted and not keep_interrupted
        entries = [] if dropped else _entries(
            config, runner, run, scale, arrays, finished(rgb, batch_jobs), histories,
            batch_jobs, files, (names, outputs.style_names(contents, "content")), yardsticks)
        runner.end_log(entries)
        if dropped:
            break
        outputs.save_images(entries)
        results.extend(entries)
        if run.interrupted:
            break
        if on_batch:
            on_batch(entries)
    return _result(planned, results, (names, outputs.style_names(contents, "content")), vgg,
                   runner, run, scale, yardsticks, record.run_record(read, vgg, config.weights))


def _read_images(config: StyleConfig, contents: list, styles: list, masks: Masks | None
                 ) -> tuple[list[dict], list[np.ndarray], list[np.ndarray], list]:
    """Every input read once: (their record.input_entry, the content and style images as
    read (RGB), each content's problem.Images (the controls applied))."""
    content_rgbs = [inputs.read(one, config.max_megapixels) for one in contents]
    style_rgbs = [inputs.read(style, config.max_megapixels) for style in styles]
    read = [*(record.input_entry("content", c, rgb) for c, rgb in zip(contents, content_rgbs)),
            *(record.input_entry("style", s, rgb) for s, rgb in zip(styles, style_rgbs))]
    masks = mask_sources(config, masks)
    if masks is not None:
        if len(contents) > 1:
            raise GatysError("region masks go with one content image: run each photograph "
                             "with its masks apart")
        arrays = Masks(inputs.read(masks.content), [inputs.read(m) for m in masks.styles])
        read += [record.input_entry("content mask", masks.content, arrays.content),
                 *(record.input_entry("style mask", m, rgb)
                   for m, rgb in zip(masks.styles, arrays.styles))]
        masks = arrays
    return (read, content_rgbs, style_rgbs,
            [prepare_images(config, rgb, style_rgbs, masks) for rgb in content_rgbs])


def _yardsticks(config: StyleConfig, vgg: VGGWeights, original: np.ndarray,
                style_rgbs: list[np.ndarray]) -> list[quality.Yardstick]:
    """The yardstick of each style (of the blend, with one): the content as read, resized to
    the output's size, against the style image(s)."""
    if config.blend is not None:
        return [quality.Yardstick(vgg, original, style_rgbs, config.blend)]
    return [quality.Yardstick(vgg, original, [style]) for style in style_rgbs]


def _run_names(planned: RunPlan, names: list[str], contents: list) -> list[str]:
    """A name per job for its event-log folder, after what varies (as output files are)."""
    stems = [path.stem for path in outputs.output_paths(
        Path("image"), planned.jobs, names, outputs.style_names(contents, "content"))]
    return [stem.removeprefix("image_") for stem in stems]


def _entries(config: StyleConfig, runner: Runner, run: driver.Run, scale: Scale,
             arrays: tuple, finished: dict[int, np.ndarray], histories: list,
             batch_jobs: list, files: list, names: tuple[list[str], list[str]],
             yardsticks: list) -> list[ImageResult]:
    """The ImageResults of one finished batch: each image (uint8, by job index) with its
    losses, history, convergence and yardstick. names: (style names, content names)."""
    styles, contents = names
    losses = driver.losses(scale.compiled, scale.problem.objective, run.state, runner.params,
                           *arrays[1:])
    if not runner.batched:  # one image: give it the batch axis the loop below reads
        losses = jax.tree.map(lambda a: np.asarray(a)[None], losses)
    converged = run.trace.converged(runner.stop)
    return [ImageResult(
        image, styles[batch_jobs[i].style], batch_jobs[i].config,
        {"content_loss": float(losses.content[i]), "style_loss": float(losses.style[i]),
         "tv_loss": float(losses.tv[i]), "total_loss": float(losses.total[i]),
         "style_layer_losses": dict(zip(config.style_layers,
                                        map(float, losses.style_layers[i])))},
        histories[i][-1]["evaluations"], histories[i],
        yardsticks[batch_jobs[i].content][batch_jobs[i].style](image),
        files[i] if files else None, None if converged is None else bool(converged[i]),
        contents[batch_jobs[i].content])
        for i, image in finished.items()]


def _result(planned: RunPlan, results: list[ImageResult], names: tuple[list[str], list[str]],
            vgg, runner: Runner, run: driver.Run, scale: Scale, yardsticks: list,
            run_record: dict) -> Result:
    """The Result of a run: its images, its settings and the facts of how it ran."""
    styles, contents = names
    references = {f"{content}/{style}" if len(contents) > 1 else style: yardstick.references()
                  for content, per_style in zip(contents, yardsticks)
                  for style, yardstick in zip(styles, per_style)}
    return Result(
        results, planned.jobs[0].config,
        {"contents": contents, "styles": styles,
         "content_weights": list(dict.fromkeys(j.config.content_weight for j in planned.jobs)),
         "seeds": list(dict.fromkeys(j.config.seed for j in planned.jobs)),
         "scales": [list(shape) for shape in planned.scales],
         "solver": planned.solver.name, "learning_rate": planned.solver.learning_rate,
         "weights": vgg.metadata.get("source", ""), "normalized": vgg.normalization is not None,
         "memory_plan": {"per_image": planned.memory._asdict(), "notes": planned.notes,
                         "remat": planned.objective.remat,
                         "step_program": driver.program_bytes(scale.compiled)}},
        planned.shape, int(batch.to_host(run.state.iteration)), runner.optimizing_seconds,
        runner.compile_seconds, planned.batch_size, planned.batches,
        scale.compiled.steps_per_call,
        references, run.interrupted,
        {"backend": jax.default_backend(), "device": str(jax.devices()[0].device_kind),
         "devices": len(jax.devices()),
         "state_devices": len(run.state.x.sharding.device_set)}, run_record)
