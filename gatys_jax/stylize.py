"""`stylize`: one image from a content and a style image, end to end (the Python API).

Data flows one way: image files -> network inputs -> targets (computed once) -> compiled
optimization of x -> image (and metrics).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import batch, images, paths, weights as weights_io
from .errors import GatysError
from .losses import (DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LossConfig, make_loss_weights,
                     make_targets)
from .optimize import DEFAULT_PRECONDITION, Optimizer, State, compile_optimizer, run
from .vgg import check_size

INITS = ("noise", "content", "style")


def load_weights(source: str | Path | weights_io.VGGWeights | None) -> weights_io.VGGWeights:
    """A VGGWeights from a file (default: the normalized weights) or as given."""
    if isinstance(source, weights_io.VGGWeights):
        return source
    if source is None:
        default = paths.normalized_weights()
        if not default.is_file():
            raise GatysError(
                f"default weight file {default} not found; make it with: "
                "gatys-jax weights fetch && gatys-jax weights normalize")
        return weights_io.load(default)
    return weights_io.load(source)


def as_image(source: str | Path | np.ndarray) -> np.ndarray:
    """RGB float32 (H, W, 3) 0..255 from a path or an array (uint8 or float)."""
    if isinstance(source, (str, Path)):
        return images.load(source)
    array = np.asarray(source, np.float32)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise GatysError(f"an image array must have shape (H, W, 3), got {array.shape}")
    return array


def as_list(styles) -> list:
    """One style (path or (H, W, 3) array) or a sequence of them -> a list."""
    single = isinstance(styles, (str, Path)) or (isinstance(styles, np.ndarray) and styles.ndim == 3)
    return [styles] if single else list(styles)


def prepare_images(content, styles, size: int | None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Content resized to long side `size`; each style resized to the content's size (paper).

    `styles` is one style (path or array) or a list of them; a list comes back either way."""
    if size is not None and size < 16:
        raise GatysError(f"--size {size} is too small: VGG19 needs at least 16 px per side")
    content = images.resize_long_side(as_image(content), size)
    check_size(*content.shape[:2])
    return content, [images.resize(as_image(style), *content.shape[:2]) for style in as_list(styles)]


def initial_image(init: str, seed: int, content: np.ndarray, style: np.ndarray) -> np.ndarray:
    """x_0 as RGB 0..255: uniform white noise from `seed`, or the content or style image."""
    if init == "noise":
        key = jax.random.key(seed)
        return np.asarray(jax.random.uniform(key, content.shape, jnp.float32, 0.0, 255.0))
    if init == "content":
        return content
    if init == "style":
        return style
    raise GatysError(f"unknown --init {init!r}; choose noise, content or style")


def intermediate_path(output: Path, iteration: int) -> Path:
    return output.with_name(f"{output.stem}_{iteration:05d}{output.suffix}")


def output_paths(output: Path, jobs: list[batch.Job], style_names: list[str]) -> list[Path]:
    """OUT itself for one job; else OUT_<style>_cw<lambda>_seed<N>.png naming only what varies."""
    if len(jobs) == 1:
        return [output]
    varies = {field: len({getattr(job, field) for job in jobs}) > 1
              for field in ("style", "content_weight", "seed")}
    names = []
    for job in jobs:
        parts = ([style_names[job.style]] if varies["style"] else []) + \
                ([f"cw{job.content_weight:g}"] if varies["content_weight"] else []) + \
                ([f"seed{job.seed}"] if varies["seed"] else [])
        names.append(output.with_name(f"{output.stem}_{'_'.join(parts)}{output.suffix}"))
    return names


def style_names(styles) -> list[str]:
    """Short unique names for styles: file stems, or style<i> for arrays or clashing stems."""
    stems = [Path(s).stem if isinstance(s, (str, Path)) else None for s in styles]
    if None in stems or len(set(stems)) != len(stems):
        return [f"style{i}" for i in range(len(styles))]
    return stems


class _Recorder:
    """Per-call bookkeeping of a chunk: loss history per image, intermediate saves, progress."""

    def __init__(self, chunk_index, chunks, size, start, to_rgb, outputs, save_every, on_update):
        self.chunk_index, self.chunks, self.size = chunk_index, chunks, size
        self.start, self.to_rgb, self.outputs = start, to_rgb, outputs
        self.save_every, self.on_update = save_every, on_update
        self.rows: list[tuple[int, np.ndarray, float]] = []
        self.last_saved = 0

    def __call__(self, state: State) -> None:
        seconds = time.perf_counter() - self.start
        totals = batch.to_host(state.losses.total)[: self.size]
        evaluations, iteration = int(state.evaluations[0]), int(state.iteration[0])
        self.rows.append((evaluations, totals, seconds))
        if self.outputs and self.save_every and iteration // self.save_every > self.last_saved:
            self.last_saved = iteration // self.save_every
            for image, path in zip(self.to_rgb(state), self.outputs):
                images.save(image, intermediate_path(path, iteration))
        if self.on_update:
            self.on_update({"chunk": self.chunk_index, "chunks": self.chunks,
                            "iteration": iteration, "evaluations": evaluations,
                            "total_loss": float(np.mean(totals)), "seconds": seconds})

    def history(self, index: int) -> list[dict]:
        return [{"evaluations": e, "total_loss": float(t[index]), "seconds": s}
                for e, t, s in self.rows]


def stylize_batch(content, styles, *, seeds: Sequence[int] = (0,),
                  content_weights: Sequence[float] = (1e-3,), size: int | None = 512,
                  iterations: int = 500, optimizer: str = "lbfgs",
                  learning_rate: float | None = None,
                  content_layer: str | None = DEFAULT_CONTENT_LAYER,
                  style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
                  style_weights: Sequence[float] | None = None, init: str = "noise",
                  pooling: str = "avg", weights=None, dtype: str = "float32", history: int = 100,
                  precondition: float = DEFAULT_PRECONDITION,
                  output: str | Path | None = None, save_every: int | None = None,
                  max_batch: int | None = None,
                  on_update: Callable[[dict], None] | None = None) -> tuple[list[np.ndarray], dict]:
    """One image per (style, content weight, seed) combination, optimized together: the
    optimization is vmapped over the batch (each image keeps its own optimizer state), the
    batch is sharded over all visible devices (padded to a multiple of their number) and split
    into chunks that fit in memory (`max_batch` overrides). One compilation serves all chunks.

    Returns (images uint8 (H, W, 3) in job order, metrics); metrics["images"] has one entry per
    image (its style index, content weight, seed, final losses, history and output path).
    Other arguments as for `stylize`; `output` names files OUT_<style>_cw<lambda>_seed<N>.png
    after what varies (just OUT for a single image).
    """
    if iterations < 0:
        raise GatysError(f"--iterations must be >= 0, got {iterations}")
    if save_every is not None and save_every < 1:
        raise GatysError(f"--save-every must be >= 1, got {save_every}")
    if init not in INITS:
        raise GatysError(f"unknown --init {init!r}; choose noise, content or style")
    if dtype not in ("float32", "bfloat16"):
        raise GatysError(f"unknown --dtype {dtype!r}; choose float32 or bfloat16")
    output = images.check_output_path(output) if output is not None else None
    style_layers = tuple(style_layers)
    if style_weights is None:
        style_weights = [1.0 / len(style_layers)] * len(style_layers) if style_layers else []
    if len(style_weights) != len(style_layers):
        raise GatysError(f"{len(style_weights)} style weights for {len(style_layers)} style layers")
    config = LossConfig(content_layer, style_layers, pooling, dtype)
    all_weights = [make_loss_weights(w, style_weights) for w in content_weights]
    solver = Optimizer(optimizer, learning_rate, history, precondition)
    style_list = as_list(styles)
    jobs = batch.product(len(style_list), content_weights, seeds)
    outputs = output_paths(output, jobs, style_names(style_list)) if output else None
    content_rgb, style_rgbs = prepare_images(content, style_list, size)
    vgg = load_weights(weights)
    height, width = content_rgb.shape[:2]

    convention = vgg.convention
    mesh = batch.mesh()
    params = batch.replicate(vgg.params, mesh)
    to_x = lambda rgb: np.asarray(images.to_network(rgb, convention))
    make = jax.jit(make_targets, static_argnums=3)
    style_targets = [jax.device_get(make(params, to_x(content_rgb), to_x(s), config))
                     for s in style_rgbs]
    num_devices = len(mesh.devices)
    chunk = batch.chunk_size(
        len(jobs), batch.bytes_per_image(config, vgg.params, height, width, history, solver.name),
        num_devices, max_batch, batch.free_bytes())

    def chunk_inputs(chunk_jobs):
        x0 = np.stack([to_x(initial_image(init, job.seed, content_rgb, style_rgbs[job.style]))
                       for job in chunk_jobs])
        targets = jax.tree.map(lambda *t: np.stack(t), *[style_targets[job.style] for job in chunk_jobs])
        loss_weights = jax.tree.map(
            lambda *w: np.stack(w),
            *[all_weights[list(content_weights).index(job.content_weight)] for job in chunk_jobs])
        return batch.shard(batch.pad_batch((x0, targets, loss_weights), chunk), mesh)

    def to_rgb(state: State) -> list[np.ndarray]:
        x = batch.to_host(state.x)
        return [np.clip(np.round(images.from_network(xi, convention)), 0, 255).astype(np.uint8)
                for xi in x]

    chunks = [jobs[i: i + chunk] for i in range(0, len(jobs), chunk)]
    first_inputs = chunk_inputs(chunks[0])
    compiled = compile_optimizer(solver, config, first_inputs[0], params, *first_inputs[1:],
                                 batch_sharding=batch.batch_sharding(mesh))
    results, entries, interrupted = [], [], False
    start = time.perf_counter()
    for index, chunk_jobs in enumerate(chunks):
        x0, targets, loss_weights = first_inputs if index == 0 else chunk_inputs(chunk_jobs)
        chunk_outputs = outputs[len(results): len(results) + len(chunk_jobs)] if outputs else None
        state = compiled.init(x0, params, targets, loss_weights)
        record = _Recorder(index, len(chunks), len(chunk_jobs), start, to_rgb, chunk_outputs,
                           save_every, on_update)
        record(state)
        if not np.all(np.isfinite(record.rows[0][1])):
            raise GatysError("the loss of the initial image is not finite; check the loss weights")
        state, interrupted = run(compiled, state, (params, targets, loss_weights), iterations,
                                 record)
        final = to_rgb(state)[: len(chunk_jobs)]
        parts = batch.to_host(state.losses)
        for i, job in enumerate(chunk_jobs):
            path = chunk_outputs[i] if chunk_outputs else None
            if path is not None:
                images.save(final[i], path)
            entries.append({
                "style": job.style, "content_weight": job.content_weight, "seed": job.seed,
                "content_loss": float(parts.content[i]), "style_loss": float(parts.style[i]),
                "total_loss": float(parts.total[i]),
                "style_layer_losses": {layer: float(v) for layer, v in
                                       zip(style_layers, parts.style_layers[i])},
                "evaluations": int(state.evaluations[i]), "history": record.history(i),
                "output": str(path) if path else None,
            })
        results.extend(final)
        if interrupted:
            break
    metrics = {
        "images": entries,
        "evaluations": entries[-1]["evaluations"],
        "iterations": int(state.iteration[0]),
        "wall_seconds": time.perf_counter() - start,
        "compile_seconds": compiled.seconds,
        "size": [height, width],
        "interrupted": interrupted,
        "batch_size": chunk,
        "chunks": len(chunks),
        "settings": {
            "optimizer": solver.name, "learning_rate": solver.lr, "history": history,
            "precondition": solver.precondition if solver.name == "lbfgs" else None,
            "content_weights": [float(w) for w in content_weights], "seeds": list(seeds),
            "styles": style_names(style_list), "content_layer": content_layer,
            "style_layers": list(style_layers), "style_weights": [float(w) for w in style_weights],
            "init": init, "pooling": pooling, "dtype": dtype,
            "weights": vgg.metadata.get("source", ""), "normalized": vgg.normalization is not None,
        },
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0].device_kind),
        "devices": num_devices,
        "state_devices": len(state.x.sharding.device_set),  # devices the batch was laid out on
        "steps_per_call": compiled.chunk,
    }
    return results, metrics


def stylize(content, style, *, content_weight: float = 1e-3, seed: int = 0,
            output: str | Path | None = None, **options) -> tuple[np.ndarray, dict]:
    """Optimize an image whose VGG19 features match `content` and whose Gram matrices match
    `style` (Gatys et al. 2016). Returns (image uint8 (H, W, 3), metrics dict).

    content, style: paths or RGB arrays (H, W, 3) in 0..255. size: long side in px (None keeps
    the content's size; default 512). iterations: steps (default 500), each one loss+gradient
    evaluation, plus one for the initial image. optimizer: "lbfgs" or "adam"; learning_rate
    (adam default 10 on the 0..255 pixel scale). content_weight: lambda = alpha/beta.
    content_layer, style_layers, style_weights (w_l, default 1/len(style_layers)).
    init: "noise" (uniform white noise from `seed`), "content" or "style". pooling: "avg" or
    "max". weights: path or VGGWeights (default: the normalized file). dtype: VGG compute
    precision. history: L-BFGS pairs. precondition: exponent of L-BFGS's spatial-frequency
    preconditioner (0: none, the classic method; precondition.py). output: written atomically at the end (and on Ctrl-C);
    save_every: also OUT_<iteration>.png every N iterations. on_update(progress dict) is called
    after every compiled call.

    metrics: content_loss, style_loss, total_loss, style_layer_losses, evaluations, iterations,
    wall_seconds, compile_seconds, size [h, w], history [{evaluations, total_loss, seconds}],
    interrupted, settings, backend, device.
    """
    results, metrics = stylize_batch(content, style, seeds=(seed,), content_weights=(content_weight,),
                                     output=output, **options)
    return results[0], single_image_metrics(metrics)


def single_image_metrics(metrics: dict) -> dict:
    """A one-image run's metrics with that image's losses and history at the top level."""
    metrics = dict(metrics)
    (entry,) = metrics.pop("images")
    metrics.update({key: entry[key] for key in ("content_loss", "style_loss", "total_loss",
                                                "style_layer_losses", "history")})
    metrics["settings"] = {**metrics["settings"], "content_weight": entry["content_weight"],
                           "seed": entry["seed"]}
    return metrics
