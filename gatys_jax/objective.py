"""The objective: VGG19 features of the image x, targets computed once, the weighted losses and
their gradient; and `Problem`, everything a run optimizes against, built once.

    L_total = lambda * L_content + sum_l w_l E_l + tau * TV     (losses.py has the terms)

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

from . import losses, masks
from .config import StyleConfig
from .convention import from_network, to_network, to_uint8
from .images import resize
from .solvers import Loss
from .vgg import BLOCK_INPUT, VGG19, layer_scale, matmul_conv_positions, variables
from .weights import VGGWeights


class Targets(NamedTuple):
    """What x is compared to: content features (H_l, W_l, N_l) or None; per style layer, the
    style's Gram matrix per position (N_l, N_l), or with regions its guided Gram matrices
    (R, N_l, N_l) and x's region weights at that layer (R, H_l, W_l)."""

    content: jnp.ndarray | None
    style: tuple[jnp.ndarray, ...]
    masks: tuple[jnp.ndarray, ...] | None = None


class LossWeights(NamedTuple):
    """lambda = alpha/beta on the content loss (scalar); w_l per style layer (L,); tau on the
    total variation of x (scalar)."""

    content: jnp.ndarray
    style: jnp.ndarray
    tv: jnp.ndarray


class Losses(NamedTuple):
    total: jnp.ndarray  # lambda * content + style + tau * tv
    content: jnp.ndarray  # L_content, unweighted
    style: jnp.ndarray  # sum_l w_l E_l
    style_layers: jnp.ndarray  # (L,) E_l, unweighted
    tv: jnp.ndarray  # total variation of x, unweighted


def loss_weights(content_weight: float, style_weights, tv_weight: float = 0.0) -> LossWeights:
    return LossWeights(jnp.asarray(content_weight, jnp.float32),
                       jnp.asarray(style_weights, jnp.float32).reshape(-1),
                       jnp.asarray(tv_weight, jnp.float32))


def config_weights(config: StyleConfig) -> LossWeights:
    """The loss weights a config asks for."""
    return loss_weights(config.content_weight, config.layer_weights, config.tv_weight)


@dataclasses.dataclass(frozen=True)
class Objective:
    """Static choices of the objective (hashable: part of what is compiled)."""

    content_layer: str | None
    style_layers: tuple[str, ...]
    pooling: str = "avg"
    dtype: str = "float32"  # VGG compute precision; Gram matrices and losses stay float32
    remat: bool = False  # keep only each VGG block's input for the backward pass

    @classmethod
    def from_config(cls, config: StyleConfig, remat: bool = False) -> "Objective":
        return cls(config.content_layer, config.style_layers, config.pooling, config.dtype,
                   remat)

    @property
    def layers(self) -> tuple[str, ...]:
        content = (self.content_layer,) if self.content_layer else ()
        return tuple(dict.fromkeys(content + tuple(self.style_layers)))

    def model(self) -> VGG19:
        return VGG19(pooling=self.pooling, dtype=jnp.dtype(self.dtype),
                     matmul_positions=matmul_conv_positions())

    def features(self, params: dict, x: jnp.ndarray) -> dict[str, jnp.ndarray]:
        """Activations of one image x (H, W, 3) at the objective's layers: {layer: (H_l, W_l, N_l)}.
        With `remat`, the backward pass recomputes each block from its input (a third more
        work, a fraction of the memory)."""
        apply = lambda params, x: self.model().apply(variables(params), x[None], self.layers)
        if self.remat:
            apply = jax.checkpoint(apply, policy=jax.checkpoint_policies.save_only_these_names(
                BLOCK_INPUT))
        return {layer: value[0] for layer, value in apply(params, x).items()}

    def targets(self, params: dict, content_x: jnp.ndarray, style_x: jnp.ndarray,
                content_masks=None, style_masks=None) -> Targets:
        """Targets from network inputs of the content image (H, W, 3, the size of x) and of a
        style image (any size). With regions: the region weights of x (content_masks) and of
        the style image (style_masks), each {layer: (R, H_l, W_l)}."""
        content = (self.features(params, content_x)[self.content_layer]
                   if self.content_layer else None)
        style = ()
        if self.style_layers:
            style_features = self.features(params, style_x)
            style = tuple(losses.position_grams(style_features[layer],
                                                None if style_masks is None else style_masks[layer])
                          for layer in self.style_layers)
        masks = (None if content_masks is None
                 else tuple(content_masks[layer] for layer in self.style_layers))
        return Targets(content, style, masks)

    def losses(self, params: dict, x: jnp.ndarray, targets: Targets,
               weights: LossWeights) -> Losses:
        """All losses of x (H, W, 3)."""
        feats = self.features(params, x)
        content = (losses.content_loss(feats[self.content_layer], targets.content)
                   if self.content_layer else jnp.zeros((), jnp.float32))
        masks = targets.masks or (None,) * len(self.style_layers)
        per_layer = jnp.stack([
            losses.gram_distance(losses.position_grams(feats[layer], mask), target)
            for layer, target, mask in zip(self.style_layers, targets.style, masks)
        ]) if self.style_layers else jnp.zeros((0,), jnp.float32)
        style = jnp.sum(weights.style * per_layer)
        tv = losses.total_variation(x)
        return Losses(weights.content * content + style + weights.tv * tv, content, style,
                      per_layer, tv)

    def total(self, x, params, targets, weights) -> jnp.ndarray:
        """L_total of x: the scalar being minimized."""
        return self.losses(params, x, targets, weights).total

    def loss(self, params, targets, weights) -> Loss:
        """The objective of x for fixed parameters, targets and weights, as solvers take it."""
        total = lambda x: self.total(x, params, targets, weights)
        return Loss(total, jax.value_and_grad(total))


def initial_image(init: str, seed: int, content: np.ndarray, style: np.ndarray,
                  noise_scale: float = 1.0) -> np.ndarray:
    """x_0 as RGB 0..255: uniform white noise from `seed` around mid-grey, spanning
    noise_scale x 255 levels (1: all of 0..255), or the content or style image."""
    if init == "noise":
        u = jax.random.uniform(jax.random.key(seed), content.shape, jnp.float32, -0.5, 0.5)
        return np.asarray(127.5 + 255.0 * noise_scale * u)
    return content if init == "content" else style


# one compiled program per objective and image shape, however many problems are built
_targets = jax.jit(lambda objective, *args: objective.targets(*args), static_argnums=0)


@dataclasses.dataclass
class Problem:
    """What a run optimizes against, computed once: the content image as optimized (RGB
    0..255, the size of x), the style images (any size), the network, and the targets: one
    set per style, or one set blending them."""

    objective: Objective
    vgg: VGGWeights
    content: np.ndarray  # (H, W, 3)
    styles: list[np.ndarray]  # each (H_s, W_s, 3)
    targets: list[Targets]  # host arrays

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
        rgb = initial_image(config.init, config.seed, self.content,
                            resize(self.styles[style], *self.shape), config.noise_scale)
        return self.to_network(rgb)


def layer_shapes(layers, height: int, width: int) -> dict[str, tuple[int, int]]:
    """{layer: (H_l, W_l)} of an image of height x width."""
    return {layer: (height // layer_scale(layer), width // layer_scale(layer))
            for layer in layers}


def blend_targets(targets: list[Targets], weights, presence: list[np.ndarray]) -> Targets:
    """One set of targets mixing several styles' Gram matrices by `weights`; with regions,
    each region mixes the styles whose masks have it (presence: (R,) per style, or (1,))."""
    mixing = np.stack([w * np.asarray(p, np.float32) for w, p in zip(weights, presence)])
    mixing = mixing / np.maximum(mixing.sum(axis=0), 1e-12)  # (K, R): each region sums to 1

    def mix(*grams):  # each style's (N, N), or (R, N, N) with regions
        stacked = np.stack(grams).reshape((len(grams), -1) + grams[0].shape[-2:])
        return (mixing.reshape(len(grams), -1, 1, 1) * stacked).sum(0).reshape(grams[0].shape)

    return targets[0]._replace(style=tuple(mix(*grams)
                                           for grams in zip(*(t.style for t in targets))))


def build_problem(objective: Objective, vgg: VGGWeights, content: np.ndarray,
                  styles: list[np.ndarray], params=None, *, blend=None, content_regions=None,
                  style_regions=None) -> Problem:
    """Targets from prepared RGB images: the content at the size of x, the styles at any size.

    params: the VGG parameters already placed on devices (default: vgg.params). blend: one
    weight per style (summing to 1): the styles' targets mixed into one. content_regions
    (R, H, W) and style_regions (one (R, H_s, W_s) per style): region weights in 0..1 for
    guided Gram matrices (masks.py)."""
    params = vgg.params if params is None else params
    content_x = to_network(content, vgg.convention)
    content_masks = None
    if content_regions is not None:
        content_masks = masks.per_layer(content_regions,
                                        layer_shapes(objective.style_layers, *content.shape[:2]))
    targets = []
    for index, style in enumerate(styles):
        style_masks = None
        if style_regions is not None:
            style_masks = masks.per_layer(style_regions[index],
                                          layer_shapes(objective.style_layers, *style.shape[:2]))
        targets.append(jax.device_get(_targets(objective, params, content_x,
                                               to_network(style, vgg.convention),
                                               content_masks, style_masks)))
    if blend is not None:
        presence = ([np.asarray(r).reshape(len(r), -1).max(axis=1) > 0 for r in style_regions]
                    if style_regions is not None else [np.ones(1)] * len(styles))
        targets = [blend_targets(targets, blend, presence)]
    return Problem(objective, vgg, content, list(styles), targets)
