"""`StyleConfig`: every knob of a run, its default and its validation, defined once.

The CLI's flags are generated from the fields (`metadata["help"]`, `metadata["parse"]`); the
library, the benchmarks and the paper scripts all take a `StyleConfig`. Errors name the field
in API terms (`content_weight must be ...`); the CLI names the flag instead.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from .errors import ConfigError, GatysError
from .images import MAX_MEGAPIXELS
from .solvers import optax_alias
from .vgg import LAYERS, MIN_SIDE, POOLINGS

DEFAULT_CONTENT_LAYER = "conv4_2"
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
INITS = ("noise", "content", "style")
DTYPES = ("float32", "bfloat16")
OPTIMIZERS = ("lbfgs", "adam")  # and "optax:<alias>", or any optax.GradientTransformation
OPTAX_PREFIX = "optax:"
MAX_SEED = 2**32 - 1


def _text_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise GatysError(f"not a number: {text!r}") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise GatysError(f"not an integer: {text!r}") from None


def _option(default: Any, help: str, parse=None, metavar: str | None = None, **extra):
    """A field with the metadata the CLI builds its flag from: help text, a parser from the
    flag's text to the field's value, and a metavar."""
    return dataclasses.field(default=default, metadata={
        "help": help, "parse": parse, "metavar": metavar, **extra})


@dataclasses.dataclass(frozen=True)
class StyleConfig:
    """Settings of a style transfer run; defaults are the project's, `paper` methods aside.

    One instance describes one output image; batches vary `content_weight`, `seed` and the
    style image over copies (`dataclasses.replace`).
    """

    size: int | None = _option(
        512, "long side of the output in px; the content image is resized to it, the style "
        "image to the content's size; 0 keeps the content's size",
        lambda text: _integer(text) or None, "PX")
    iterations: int = _option(
        500, "optimizer steps; each costs one loss+gradient evaluation (line searches count "
        "theirs), plus one for the initial image", _integer, "N")
    optimizer: Any = _option(
        "lbfgs", "lbfgs (one evaluation per step), adam (optax), or any optax optimizer by "
        "name, e.g. optax:adabelief (it needs a learning rate)", str, "NAME")
    learning_rate: float | None = _option(
        None, "step size: adam 10 by default (pixels are on a 0..255 scale); lbfgs: a scale "
        "on its unit step (default 1)", _number, "F")
    history: int = _option(100, "L-BFGS history size (pairs kept)", _integer, "N")
    precondition: float = _option(
        0.0, "L-BFGS: exponent e of its initial inverse Hessian gamma*P, where P scales "
        "spatial frequency f by (f + 0.02)^-e; 0 is the classic gamma*I of torch.optim.LBFGS",
        _number, "E")
    content_weight: float = _option(
        1e-3, "lambda = alpha/beta, the content loss's weight relative to the style loss; "
        "a comma-separated list makes one image per value, optimized together",
        _number, "LAMBDA", batch=True)
    content_layer: str | None = _option(
        DEFAULT_CONTENT_LAYER, "layer whose activations are matched to the content image; "
        "'' for none (pure texture synthesis)", lambda text: text.strip() or None, "LAYER")
    style_layers: tuple[str, ...] = _option(
        DEFAULT_STYLE_LAYERS, "comma-separated layers whose Gram matrices are matched to the "
        "style image; '' for none", _text_list, "L1,L2,...")
    style_weights: tuple[float, ...] | None = _option(
        None, "comma-separated w_l, one per style layer (default: 1/number of layers)",
        lambda text: tuple(_number(v) for v in text.split(",")), "W1,W2,...")
    init: str = _option(
        "noise", "initial image: white noise (uniform over 0..255) from the seed, or the "
        "content or style image", str, "|".join(INITS))
    seed: int = _option(0, "noise seed; the same seed and settings give the same image bit "
                        "for bit on the same machine", _integer, "N")
    pooling: str = _option("avg", "VGG pooling; the paper uses avg for synthesis", str,
                           "|".join(POOLINGS))
    dtype: str = _option(
        "float32", "VGG compute precision; Gram matrices and losses stay float32", str,
        "|".join(DTYPES))
    weights: Any = _option(
        None, "weight file (default: weights/vgg19_normalized.h5, made by `gatys-jax weights "
        "normalize`); preprocessing follows the input convention it records", Path, "FILE")
    max_batch: int | None = _option(
        None, "images per compiled batch (default: as many as fit in memory)", _integer, "N")
    save_every: int | None = _option(
        None, "also write OUT_<iteration>.png every N iterations", _integer, "N")
    max_megapixels: float = _option(
        MAX_MEGAPIXELS, "refuse input images with more pixels than this (checked from the "
        "file's header, against decompression bombs)", _number, "MP")

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)
        if self.content_layer == "":
            set_("content_layer", None)
        set_("style_layers", tuple(self.style_layers))
        if self.style_weights is not None:
            set_("style_weights", tuple(_finite(w, "style_weights") for w in self.style_weights))
        set_("content_weight", _finite(self.content_weight, "content_weight"))
        for name in ("learning_rate", "precondition", "max_megapixels"):
            if getattr(self, name) is not None:
                set_(name, _finite(getattr(self, name), name))
        self._check()

    def _check(self) -> None:
        _integer_at_least(self, "size", MIN_SIDE, optional=True,
                          why=f"VGG19 needs at least {MIN_SIDE} px per side")
        _integer_at_least(self, "iterations", 0)
        _integer_at_least(self, "history", 1)
        _integer_at_least(self, "max_batch", 1, optional=True)
        _integer_at_least(self, "save_every", 1, optional=True)
        _integer_at_least(self, "seed", 0)
        if self.seed > MAX_SEED:
            raise ConfigError("seed", f"must be at most {MAX_SEED}, got {self.seed}")
        if self.content_weight < 0:
            raise ConfigError("content_weight", f"must be finite and non-negative, "
                                                f"got {self.content_weight:g}")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ConfigError("learning_rate", f"must be positive, got {self.learning_rate:g}")
        if not 0 <= self.precondition <= 2:
            raise ConfigError("precondition", "(the L-BFGS preconditioner exponent) must be in "
                                              f"[0, 2], got {self.precondition:g}")
        if self.max_megapixels <= 0:
            raise ConfigError("max_megapixels", f"must be positive, got {self.max_megapixels:g}")
        _choice(self, "init", INITS)
        _choice(self, "pooling", POOLINGS)
        _choice(self, "dtype", DTYPES)
        self._check_layers()
        self._check_optimizer()

    def _check_layers(self) -> None:
        if self.content_layer is not None and self.content_layer not in LAYERS:
            raise ConfigError("content_layer", f"{self.content_layer!r} is not a VGG19 layer; "
                                               f"choose from {', '.join(LAYERS)}")
        unknown = [layer for layer in self.style_layers if layer not in LAYERS]
        if unknown:
            raise ConfigError("style_layers", f"has {unknown[0]!r}, not a VGG19 layer; choose "
                                              f"from {', '.join(LAYERS)}")
        if len(set(self.style_layers)) != len(self.style_layers):
            raise ConfigError("style_layers", f"repeats a layer: {','.join(self.style_layers)}")
        if self.content_layer is None and not self.style_layers:
            raise ConfigError("content_layer", "and style_layers are both empty: the objective "
                                               "needs a content layer or at least one style layer")
        if self.style_weights is not None:
            if len(self.style_weights) != len(self.style_layers):
                raise ConfigError("style_weights", f"has {len(self.style_weights)} values for "
                                                   f"{len(self.style_layers)} style layers")
            if min(self.style_weights, default=0) < 0:
                raise ConfigError("style_weights", "must be finite and non-negative, got "
                                                   f"{list(self.style_weights)}")

    def _check_optimizer(self) -> None:
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            if optimizer.startswith(OPTAX_PREFIX):
                optax_alias(optimizer[len(OPTAX_PREFIX):])  # raises ConfigError if unknown
            elif optimizer not in OPTIMIZERS:
                raise ConfigError("optimizer", f"{optimizer!r} is unknown; choose lbfgs, adam "
                                               "or optax:<name>")
        elif not (callable(getattr(optimizer, "init", None))
                  and callable(getattr(optimizer, "update", None))):
            raise ConfigError("optimizer", "must be lbfgs, adam, optax:<name> or an "
                                           "optax.GradientTransformation")

    @property
    def layer_weights(self) -> tuple[float, ...]:
        """w_l per style layer: as given, or 1/number of layers each."""
        if self.style_weights is not None:
            return self.style_weights
        return tuple(1.0 / len(self.style_layers) for _ in self.style_layers)

    @property
    def optimizer_name(self) -> str:
        return self.optimizer if isinstance(self.optimizer, str) else "optax transform"

    def replace(self, **changes) -> "StyleConfig":
        """A copy with some fields changed (and validated again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise GatysError(f"unknown setting {unknown[0]!r}; StyleConfig has "
                             + ", ".join(f.name for f in dataclasses.fields(self)))
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        """The settings as plain JSON values (the weights as a path or their recorded source)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "optimizer":
                value = self.optimizer_name
            elif field.name == "weights" and value is not None:
                value = (str(value) if isinstance(value, (str, Path))
                         else value.metadata.get("source", "VGGWeights"))
            elif isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        out["layer_weights"] = list(self.layer_weights)
        return out


def _finite(value, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, f"must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ConfigError(name, f"must be finite, got {value}")
    return value


def _integer_at_least(config: StyleConfig, name: str, low: int, optional: bool = False,
                      why: str = "") -> None:
    value = getattr(config, name)
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(name, f"must be an integer, got {value!r}")
    if value < low:
        problem = f"is too small: {why}, got {value}" if why else f"must be >= {low}, got {value}"
        raise ConfigError(name, problem)


def _choice(config: StyleConfig, name: str, choices: tuple[str, ...]) -> None:
    if getattr(config, name) not in choices:
        raise ConfigError(name, f"{getattr(config, name)!r} is unknown; choose "
                                f"{', '.join(choices)}")
