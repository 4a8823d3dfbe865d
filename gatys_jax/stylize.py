"""`stylize`: one image from a content and a style image, end to end (the Python API).

Data flows one way: image files -> network inputs -> targets (computed once) -> compiled
optimization of x -> image (and metrics).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import images, paths, weights as weights_io
from .errors import GatysError
from .losses import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LossConfig, make_loss_weights, make_targets
from .optimize import Optimizer, State, compile_optimizer, run
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


def prepare_images(content, style, size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Content resized to long side `size`; style resized to the content's size (paper)."""
    if size is not None and size < 16:
        raise GatysError(f"--size {size} is too small: VGG19 needs at least 16 px per side")
    content = images.resize_long_side(as_image(content), size)
    check_size(*content.shape[:2])
    style = images.resize(as_image(style), *content.shape[:2])
    return content, style


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


def losses_dict(state: State, config: LossConfig) -> dict:
    parts = jax.device_get(state.losses)
    return {
        "content_loss": float(parts.content),
        "style_loss": float(parts.style),
        "total_loss": float(parts.total),
        "style_layer_losses": {layer: float(v) for layer, v in zip(config.style_layers,
                                                                   parts.style_layers)},
    }


def stylize(content, style, *, size: int | None = 512, iterations: int = 500,
            optimizer: str = "lbfgs", learning_rate: float | None = None,
            content_weight: float = 1e-3, content_layer: str | None = DEFAULT_CONTENT_LAYER,
            style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
            style_weights: Sequence[float] | None = None, init: str = "noise", seed: int = 0,
            pooling: str = "avg", weights=None, dtype: str = "float32", history: int = 100,
            output: str | Path | None = None, save_every: int | None = None,
            on_update: Callable[[dict], None] | None = None) -> tuple[np.ndarray, dict]:
    """Optimize an image whose VGG19 features match `content` and whose Gram matrices match
    `style` (Gatys et al. 2016). Returns (image uint8 (H, W, 3), metrics dict).

    content, style: paths or RGB arrays (H, W, 3) in 0..255. size: long side in px (None keeps
    the content's size). content_weight: lambda = alpha/beta. style_weights: w_l per style layer
    (default 1/len(style_layers)). weights: path or VGGWeights (default: the normalized file).
    output: written atomically at the end (and on Ctrl-C); save_every: also every N iterations.
    on_update(progress dict) is called after every compiled call.
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
        style_weights = [1.0 / len(style_layers)] * len(style_layers)
    if len(style_weights) != len(style_layers):
        raise GatysError(f"{len(style_weights)} style weights for {len(style_layers)} style layers")
    config = LossConfig(content_layer, style_layers, pooling, dtype)
    loss_weights = make_loss_weights(content_weight, style_weights)
    solver = Optimizer(optimizer, learning_rate, history)
    vgg = load_weights(weights)
    content_rgb, style_rgb = prepare_images(content, style, size)

    convention = vgg.convention
    params = jax.device_put(vgg.params)
    content_x = jnp.asarray(images.to_network(content_rgb, convention))
    style_x = jnp.asarray(images.to_network(style_rgb, convention))
    targets = jax.jit(make_targets, static_argnums=3)(params, content_x, style_x, config)
    x0 = jnp.asarray(images.to_network(initial_image(init, seed, content_rgb, style_rgb), convention))

    compiled = compile_optimizer(solver, config, x0, params, targets, loss_weights)
    start = time.perf_counter()
    state = compiled.init(x0, params, targets, loss_weights)
    history_rows = [{"evaluations": 1, "total_loss": float(state.losses.total),
                     "seconds": time.perf_counter() - start}]
    if not math.isfinite(history_rows[0]["total_loss"]):
        raise GatysError("the loss of the initial image is not finite; check the loss weights")

    def to_rgb(s: State) -> np.ndarray:
        return images.from_network(jax.device_get(s.x), convention)

    last_saved = [0]

    def record(s: State) -> None:
        seconds = time.perf_counter() - start
        row = {"evaluations": int(s.evaluations), "total_loss": float(s.losses.total),
               "seconds": seconds}
        history_rows.append(row)
        iteration = int(s.iteration)
        if output is not None and save_every and iteration // save_every > last_saved[0]:
            last_saved[0] = iteration // save_every
            images.save(to_rgb(s), intermediate_path(output, iteration))
        if on_update:
            on_update({**row, "iteration": iteration})

    state, interrupted = run(compiled, state, (params, targets, loss_weights), iterations, record)
    wall = time.perf_counter() - start
    image = np.clip(np.round(to_rgb(state)), 0, 255).astype(np.uint8)
    if output is not None:
        images.save(image, output)
    metrics = {
        **losses_dict(state, config),
        "evaluations": int(state.evaluations),
        "iterations": int(state.iteration),
        "wall_seconds": wall,
        "compile_seconds": compiled.seconds,
        "size": list(content_rgb.shape[:2]),
        "interrupted": interrupted,
        "history": history_rows,
        "settings": {
            "optimizer": solver.name, "learning_rate": solver.lr, "history": history,
            "content_weight": content_weight, "content_layer": content_layer,
            "style_layers": list(style_layers), "style_weights": [float(w) for w in style_weights],
            "init": init, "seed": seed, "pooling": pooling, "dtype": dtype,
            "weights": vgg.metadata.get("source", ""), "normalized": vgg.normalization is not None,
        },
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0].device_kind),
        "steps_per_call": compiled.chunk,
    }
    return image, metrics
