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

from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.io import paths
from gatys_jax.io.images import MAX_MEGAPIXELS
from gatys_jax.model.layers import LAYERS, MIN_SIDE, POOLINGS

DEFAULT_CONTENT_LAYER = "conv4_2"
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
INITS = ("noise", "content", "style")
COLOR_MODES = ("luminance", "histogram")
DTYPES = ("float32", "bfloat16")
OPTIMIZERS = ("lbfgs", "lbfgsb", "adam")  # and "optax:<alias>"
OPTAX_PREFIX = "optax:"
MAX_SEED = 2**32 - 1
# Far above any useful value, and low enough that float32 losses, gradients and steps stay
# finite: a larger weight or step is refused before anything compiles.
MAX_LOSS_WEIGHT = 1e12
MAX_LEARNING_RATE = 1e4


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
    start_size: int | None = _option(
        128, "coarse to fine: optimize at this long side first, then at doubling sizes up "
        "to size, each scale starting from the last one's image, upsampled; 0 (None) or "
        "size itself: one scale", lambda text: _integer(text) or None, "PX")
    iterations: int = _option(
        150, "optimizer steps at each coarse-to-fine scale; each costs one loss+gradient evaluation (line searches count "
        "theirs), plus one for the initial image", _integer, "N")
    stop_tolerance: float | None = _option(
        None, "stop once every image's total loss fell by less than this fraction over its "
        "last stop_window evaluations (iterations is then the cap); none: run every "
        "iteration", _number, "F")
    stop_pixels: float | None = _option(
        None, "also stop an image once it moved by less than this many grey levels of "
        "0..255 (RMS over its pixels) over its last stop_window evaluations: the rule for "
        "a loss that falls towards zero at a steady rate (a reconstruction), which the "
        "relative stop_tolerance never ends; none: not used", _number, "G")
    stop_window: int = _option(100, "evaluations over which stop_tolerance and stop_pixels "
                               "are judged", _integer, "N")
    optimizer: str = _option(
        "lbfgs", "lbfgs (one evaluation per step), lbfgsb (lbfgs with every pixel kept in "
        "0..255, so the image saved is the one optimized), adam (optax), or any optax "
        "optimizer by name, e.g. optax:adabelief (it needs a learning rate)", str, "NAME")
    learning_rate: float | None = _option(
        None, "step size: adam 10 by default (pixels are on a 0..255 scale); lbfgs, lbfgsb: a "
        "scale on its unit step (default 1)", _number, "F")
    history: int = _option(100, "L-BFGS history size (pairs kept)", _integer, "N")
    precondition: float = _option(
        0.0, "L-BFGS: exponent e of its initial inverse Hessian gamma*P, where P scales "
        "spatial frequency f by (f + 0.02)^-e; 0 is the classic gamma*I of torch.optim.LBFGS",
        _number, "E")
    content_weight: float = _option(
        9e-4, "lambda = alpha/beta, the content loss's weight relative to the style loss; "
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
    tv_weight: float = _option(
        0.0, "tau, the weight of the total variation of the image (a smoothness prior "
        "against pixel noise; 0: none, as in the paper), measured on the network's input: "
        "0..255 pixel units with Caffe weights", _number, "TAU")
    style_scale: float = _option(
        1.0, "the style image is resized to this times the content's size before its Gram "
        "matrices are taken: its brush strokes come out larger above 1, smaller below",
        _number, "F")
    blend: tuple[float, ...] | None = _option(
        None, "comma-separated weights, one per style image: one image whose style target "
        "mixes the styles' Gram matrices (normalized to sum 1), instead of one image per style",
        lambda text: tuple(_number(v) for v in text.split(",")), "W1,W2,...")
    preserve_colors: str | None = _option(
        None, "keep the content's colours: luminance (transfer on luminance, the content's "
        "chroma put back) or histogram (the style's colours matched to the content's first)",
        lambda text: text.strip() or None, "|".join(COLOR_MODES))
    content_mask: str | Path | None = _option(
        None, "regions of the content image, one flat colour each; region r of the output "
        "takes its style from the same colour in the style masks; black: no style there",
        str, "IMAGE")
    style_mask: tuple[str | Path, ...] | None = _option(
        None, "masks of the style images, one per style (comma-separated), in the content "
        "mask's colours", _text_list, "IMAGE,...")
    init: str = _option(
        "noise", "initial image: white noise from the seed (uniform, around mid-grey, "
        "noise_scale x 255 levels wide), or the content or style image", str,
        "|".join(INITS))
    noise_scale: float = _option(
        0.004, "width of the white-noise start as a fraction of 0..255 (1: uniform over "
        "0..255)", _number, "S")
    seed: int = _option(0, "noise seed; the same seed and settings give the same image bit "
                        "for bit on the same machine", _integer, "N")
    pooling: str = _option("avg", "VGG pooling; the paper uses avg for synthesis", str,
                           "|".join(POOLINGS))
    dtype: str = _option(
        "float32", "VGG compute precision; Gram matrices and losses stay float32", str,
        "|".join(DTYPES))
    weights: str | Path | None = _option(
        None, "weight file (default: weights/vgg19.h5, the Caffe VGG19 fetched by `gatys-jax "
        "weights fetch`); preprocessing follows the input convention it records", Path, "FILE")
    max_batch: int | None = _option(
        None, "images per compiled batch (default: as many as fit in memory)", _integer, "N")
    save_every: int | None = _option(
        None, "also write OUT_<iteration>.png every N iterations", _integer, "N")
    max_megapixels: float = _option(
        MAX_MEGAPIXELS, "refuse input images with more pixels than this (checked from the "
        "file's header, against decompression bombs)", _number, "MP")

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)
        for field in dataclasses.fields(self):
            if getattr(self, field.name) is None and "None" not in str(field.type):
                raise ConfigError(field.name, "has no unset value: give one, or leave it out "
                                              "for the default")
        if self.content_layer == "":
            set_("content_layer", None)
        for name in LIST_FIELDS:
            value = getattr(self, name)
            if name == "style_mask" and isinstance(value, (str, Path)):
                set_(name, (value,))  # the mask of a single style
            elif name == "style_layers" and isinstance(value, str):
                set_(name, _text_list(value))
            elif value is not None and not isinstance(value, (list, tuple)):
                raise ConfigError(name, f"must be a list, got {type(value).__name__}")
        set_("style_layers", tuple(self.style_layers))
        if self.style_weights is not None:
            set_("style_weights", tuple(_finite(w, "style_weights") for w in self.style_weights))
        set_("content_weight", _finite(self.content_weight, "content_weight"))
        if self.blend is not None:
            blend = tuple(_finite(w, "blend") for w in self.blend)
            if max(blend, default=0) > MAX_LOSS_WEIGHT:
                raise ConfigError("blend", f"weights must be at most {MAX_LOSS_WEIGHT:g} (only "
                                           f"their ratios count), got {list(blend)}")
            if min(blend, default=0) < 0 or sum(blend) <= 0:
                raise ConfigError("blend", f"must be non-negative with a positive sum, got "
                                           f"{list(blend)}")
            set_("blend", tuple(w / sum(blend) for w in blend))
        for name in ("weights", "content_mask"):
            _path_or_none(self, name)
        if self.style_mask is not None:
            set_("style_mask", tuple(self.style_mask))
            for index, mask in enumerate(self.style_mask):
                if not isinstance(mask, (str, Path)):
                    raise ConfigError("style_mask", f"{index + 1} must be a path or sample "
                                      f"name, got {type(mask).__name__} (pass arrays as "
                                      "stylize's masks argument)")
        for name in ("learning_rate", "precondition", "max_megapixels", "tv_weight",
                     "noise_scale", "style_scale", "stop_tolerance", "stop_pixels"):
            if getattr(self, name) is not None:
                set_(name, _finite(getattr(self, name), name))
        self._check()

    def _check(self) -> None:
        _integer_at_least(self, "size", MIN_SIDE, optional=True,
                          why=f"VGG19 needs at least {MIN_SIDE} px per side")
        _integer_at_least(self, "start_size", MIN_SIDE, optional=True,
                          why=f"VGG19 needs at least {MIN_SIDE} px per side")
        _integer_at_least(self, "iterations", 0)
        _integer_at_least(self, "history", 1)
        _integer_at_least(self, "stop_window", 1)
        for name in ("stop_tolerance", "stop_pixels"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ConfigError(name, f"must be positive, got {getattr(self, name):g}")
        _integer_at_least(self, "max_batch", 1, optional=True)
        _integer_at_least(self, "save_every", 1, optional=True)
        _integer_at_least(self, "seed", 0)
        if self.seed > MAX_SEED:
            raise ConfigError("seed", f"must be at most {MAX_SEED}, got {self.seed}")
        _weight_in_range(self, "content_weight")
        _weight_in_range(self, "tv_weight")
        if self.learning_rate is not None and not 0 < self.learning_rate <= MAX_LEARNING_RATE:
            raise ConfigError("learning_rate", f"must be positive and at most "
                                               f"{MAX_LEARNING_RATE:g}, got {self.learning_rate:g}")
        if not 0 <= self.precondition <= 2:
            raise ConfigError("precondition", "(the L-BFGS preconditioner exponent) must be in "
                                              f"[0, 2], got {self.precondition:g}")
        if self.max_megapixels <= 0:
            raise ConfigError("max_megapixels", f"must be positive, got {self.max_megapixels:g}")
        if not 0 <= self.noise_scale <= 1:
            raise ConfigError("noise_scale", f"must be in [0, 1], got {self.noise_scale:g}")
        if not 0.1 <= self.style_scale <= 10:
            raise ConfigError("style_scale", f"must be in [0.1, 10], got {self.style_scale:g}")
        if self.preserve_colors is not None:
            _choice(self, "preserve_colors", COLOR_MODES)
        if (self.content_mask is None) != (self.style_mask is None):
            raise ConfigError("content_mask", "and a style mask go together: give both or neither")
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
            if not all(0 <= w <= MAX_LOSS_WEIGHT for w in self.style_weights):
                raise ConfigError("style_weights", f"must be non-negative and at most "
                                                   f"{MAX_LOSS_WEIGHT:g}, got "
                                                   f"{list(self.style_weights)}")

    def _check_optimizer(self) -> None:
        optimizer = self.optimizer
        if not isinstance(optimizer, str):
            raise ConfigError("optimizer", f"must be a name (lbfgs, lbfgsb, adam or "
                                           f"optax:<name>), got {type(optimizer).__name__}; "
                                           "pass an optax transform as stylize's transform "
                                           "argument")
        if optimizer.startswith(OPTAX_PREFIX):
            # optax is imported only for a setting that names it
            from gatys_jax.optim.solvers import optax_alias
            optax_alias(optimizer[len(OPTAX_PREFIX):])  # raises ConfigError if unknown
        elif optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", f"{optimizer!r} is unknown; choose lbfgs, lbfgsb, "
                                           "adam or optax:<name>")
        if optimizer == "lbfgsb" and self.precondition:
            raise ConfigError("precondition", "applies to lbfgs only; lbfgsb takes none "
                                              "(give precondition 0)")

    @property
    def layer_weights(self) -> tuple[float, ...]:
        """w_l per style layer: as given, or 1/number of layers each."""
        if self.style_weights is not None:
            return self.style_weights
        return tuple(1.0 / len(self.style_layers) for _ in self.style_layers)

    def scales(self, content_shape: tuple[int, int]) -> list[int]:
        """Long sides of the coarse-to-fine scales for a content image of `content_shape`:
        start_size, doubling while at most the output's long side / 1.5 (a scale closer to
        the output's size adds a pass that changes little), then that side. Scales whose
        short side would be under the network's minimum are left out."""
        final = self.size or max(content_shape)
        aspect = min(content_shape) / max(content_shape)
        sizes = []
        side = self.start_size
        while side is not None and side * 1.5 <= final:
            if round(side * aspect) >= MIN_SIDE:
                sizes.append(side)
            side *= 2
        return sizes + [final]

    @classmethod
    def paper(cls, **changes) -> "StyleConfig":
        """Exactly the paper's settings: the normalized VGG19, content at conv4_2, style at
        conv1_1 ... conv5_1 with w_l = 1/5, lambda 1e-3, white noise of 1 grey level standard
        deviation (PAPER_NOISE_SCALE), one scale, L-BFGS, no total variation; then `changes`."""
        return cls(**{**PAPER, "weights": str(paths.normalized_weights()), **changes})

    def replace(self, **changes) -> "StyleConfig":
        """A copy with some fields changed (and validated again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise GatysError(f"unknown setting {unknown[0]!r}; StyleConfig has "
                             + ", ".join(f.name for f in dataclasses.fields(self)))
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        """The settings as plain JSON values, paths as text; `StyleConfig(**to_json())` is
        this config again."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = [str(v) if isinstance(v, Path) else v for v in value]
            out[field.name] = value
        return out


def noise_sd(noise_scale: float) -> float:
    """The standard deviation, in grey levels, of the uniform noise start of `noise_scale`
    (a width of noise_scale x 255 levels)."""
    return noise_scale * 255 / math.sqrt(12)


# The paper says only "white noise". The authors' code (leongatys/DeepTextures, ImageSyn)
# starts from np.random.randn in the network's input units, grey levels around the mean
# pixel: noise of 1 level standard deviation.
PAPER_NOISE_SCALE = 1 / noise_sd(1.0)

LIST_FIELDS = ("style_layers", "style_weights", "blend", "style_mask")

PAPER = {"content_weight": 1e-3, "content_layer": DEFAULT_CONTENT_LAYER,
         "style_layers": DEFAULT_STYLE_LAYERS, "style_weights": None, "pooling": "avg",
         "init": "noise", "noise_scale": PAPER_NOISE_SCALE, "start_size": None,
         "optimizer": "lbfgs", "learning_rate": None, "precondition": 0.0, "tv_weight": 0.0}


def _path_or_none(config: StyleConfig, name: str) -> None:
    value = getattr(config, name)
    if value is not None and not isinstance(value, (str, Path)):
        raise ConfigError(name, f"must be a path (or sample name), got {type(value).__name__}; "
                                "pass loaded weights or mask arrays as stylize's arguments")


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


def _weight_in_range(config: StyleConfig, name: str) -> None:
    value = getattr(config, name)
    if not 0 <= value <= MAX_LOSS_WEIGHT:
        raise ConfigError(name, f"must be non-negative and at most {MAX_LOSS_WEIGHT:g}, "
                                f"got {value:g}")


def _choice(config: StyleConfig, name: str, choices: tuple[str, ...]) -> None:
    if getattr(config, name) not in choices:
        raise ConfigError(name, f"{getattr(config, name)!r} is unknown; choose "
                                f"{', '.join(choices)}")
