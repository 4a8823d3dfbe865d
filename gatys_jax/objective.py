"""The objective: VGG19 features of the image x, targets computed once, the weighted losses and
their gradient; and `Problem`, everything a run optimizes against, built once.

    L_total = lambda * L_content + sum_l w_l E_l        (losses.py has the terms)

`Objective` holds the static choices (layers, pooling, precision: what is compiled);
`Targets` and `LossWeights` are runtime arrays, so that images with different styles or
lambdas share one compiled program. x is one image (H, W, 3) in network input units.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import losses
from .config import StyleConfig
from .convention import from_network, to_network, to_uint8
from .solvers import Loss
from .vgg import VGG19, matmul_conv_positions, variables
from .weights import VGGWeights


class Targets(NamedTuple):
    """What x is compared to: content features (H_l, W_l, N_l) or None; one Gram matrix per
    style layer."""

    content: jnp.ndarray | None
    style: tuple[jnp.ndarray, ...]


class LossWeights(NamedTuple):
    """lambda = alpha/beta on the content loss (scalar); w_l per style layer (L,)."""

    content: jnp.ndarray
    style: jnp.ndarray


class Losses(NamedTuple):
    total: jnp.ndarray  # lambda * content + style
    content: jnp.ndarray  # L_content, unweighted
    style: jnp.ndarray  # sum_l w_l E_l
    style_layers: jnp.ndarray  # (L,) E_l, unweighted


def loss_weights(content_weight: float, style_weights) -> LossWeights:
    return LossWeights(jnp.asarray(content_weight, jnp.float32),
                       jnp.asarray(style_weights, jnp.float32).reshape(-1))


@dataclasses.dataclass(frozen=True)
class Objective:
    """Static choices of the objective (hashable: part of what is compiled)."""

    content_layer: str | None
    style_layers: tuple[str, ...]
    pooling: str = "avg"
    dtype: str = "float32"  # VGG compute precision; Gram matrices and losses stay float32

    @classmethod
    def from_config(cls, config: StyleConfig) -> "Objective":
        return cls(config.content_layer, config.style_layers, config.pooling, config.dtype)

    @property
    def layers(self) -> tuple[str, ...]:
        content = (self.content_layer,) if self.content_layer else ()
        return tuple(dict.fromkeys(content + tuple(self.style_layers)))

    def model(self) -> VGG19:
        return VGG19(pooling=self.pooling, dtype=jnp.dtype(self.dtype),
                     matmul_positions=matmul_conv_positions())

    def features(self, params: dict, x: jnp.ndarray) -> dict[str, jnp.ndarray]:
        """Activations of one image x (H, W, 3) at the objective's layers: {layer: (H_l, W_l, N_l)}."""
        out = self.model().apply(variables(params), x[None], self.layers)
        return {layer: value[0] for layer, value in out.items()}

    def targets(self, params: dict, content_x: jnp.ndarray, style_x: jnp.ndarray) -> Targets:
        """Targets from network inputs of the content and style images (each (H, W, 3))."""
        content = (self.features(params, content_x)[self.content_layer]
                   if self.content_layer else None)
        style = ()
        if self.style_layers:
            style_features = self.features(params, style_x)
            style = tuple(losses.gram(style_features[layer]) for layer in self.style_layers)
        return Targets(content, style)

    def losses(self, params: dict, x: jnp.ndarray, targets: Targets,
               weights: LossWeights) -> Losses:
        """All losses of x (H, W, 3)."""
        feats = self.features(params, x)
        content = (losses.content_loss(feats[self.content_layer], targets.content)
                   if self.content_layer else jnp.zeros((), jnp.float32))
        per_layer = jnp.stack([
            losses.style_layer_loss(losses.gram(feats[layer]), target,
                                    feats[layer].shape[0] * feats[layer].shape[1])
            for layer, target in zip(self.style_layers, targets.style)
        ]) if self.style_layers else jnp.zeros((0,), jnp.float32)
        style = jnp.sum(weights.style * per_layer)
        return Losses(weights.content * content + style, content, style, per_layer)

    def total(self, x, params, targets, weights) -> jnp.ndarray:
        """L_total of x: the scalar being minimized."""
        return self.losses(params, x, targets, weights).total

    def loss(self, params, targets, weights) -> Loss:
        """The objective of x for fixed parameters, targets and weights, as solvers take it."""
        total = lambda x: self.total(x, params, targets, weights)
        return Loss(total, jax.value_and_grad(total))


def initial_image(init: str, seed: int, content: np.ndarray, style: np.ndarray) -> np.ndarray:
    """x_0 as RGB 0..255: uniform white noise from `seed`, or the content or style image."""
    if init == "noise":
        key = jax.random.key(seed)
        return np.asarray(jax.random.uniform(key, content.shape, jnp.float32, 0.0, 255.0))
    return content if init == "content" else style


# one compiled program per objective and image shape, however many problems are built
_targets = jax.jit(lambda objective, *args: objective.targets(*args), static_argnums=0)


@dataclasses.dataclass
class Problem:
    """What a run optimizes against, computed once: the images as optimized (RGB 0..255, the
    styles at the content's size), the network and one set of targets per style."""

    objective: Objective
    vgg: VGGWeights
    content: np.ndarray  # (H, W, 3)
    styles: list[np.ndarray]  # each (H, W, 3)
    targets: list[Targets]  # host arrays, one per style

    @property
    def shape(self) -> tuple[int, int]:
        return self.content.shape[:2]

    def to_network(self, rgb: np.ndarray) -> np.ndarray:
        return to_network(rgb, self.vgg.convention)

    def to_rgb(self, x) -> np.ndarray:
        """Network input(s) -> uint8 RGB, as image files hold them."""
        return to_uint8(from_network(np.asarray(x), self.vgg.convention))

    def x0(self, config: StyleConfig, style: int = 0) -> np.ndarray:
        """The network input the run of `config` starts from."""
        rgb = initial_image(config.init, config.seed, self.content, self.styles[style])
        return self.to_network(rgb)


def build_problem(objective: Objective, vgg: VGGWeights, content: np.ndarray,
                  styles: list[np.ndarray], params=None) -> Problem:
    """Targets for each style from prepared RGB images. `params`: the VGG parameters already
    placed on devices (default: vgg.params)."""
    params = vgg.params if params is None else params
    content_x = to_network(content, vgg.convention)
    targets = [jax.device_get(_targets(objective, params, content_x,
                                       to_network(style, vgg.convention)))
               for style in styles]
    return Problem(objective, vgg, content, list(styles), targets)
