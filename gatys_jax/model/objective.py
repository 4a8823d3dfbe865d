"""The objective: VGG19 features of the image x, its targets and the weighted losses, pure
functions of explicit arguments (the problem a run builds from them is `gatys_jax.problem`).

    L_total = lambda * L_content + sum_l w_l E_l + tau * TV     (losses.py has the terms)

`Objective` holds the static choices (layers, pooling, precision: what is compiled);
`Targets` and `LossWeights` are runtime arrays, so that images with different styles or
lambdas share one compiled program. x is one image (H, W, 3) in network input units.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from gatys_jax.model import losses
from gatys_jax.model.vgg import BLOCK_INPUT, VGG19, matmul_conv_positions, variables


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


class LossFunction(NamedTuple):
    """The objective of x alone, parameters, targets and weights fixed: what a solver
    minimizes (gatys_jax.optim.solvers.Loss)."""

    value: Callable  # x -> total loss
    value_and_grad: Callable  # x -> (total loss, gradient)


class Losses(NamedTuple):
    """Every loss term of x: the total being minimized and its parts, unweighted but style."""

    total: jnp.ndarray  # lambda * content + style + tau * tv
    content: jnp.ndarray  # L_content, unweighted
    style: jnp.ndarray  # sum_l w_l E_l
    style_layers: jnp.ndarray  # (L,) E_l, unweighted
    tv: jnp.ndarray  # total variation of x, unweighted


def loss_weights(content_weight: float, style_weights, tv_weight: float = 0.0) -> LossWeights:
    return LossWeights(jnp.asarray(content_weight, jnp.float32),
                       jnp.asarray(style_weights, jnp.float32).reshape(-1),
                       jnp.asarray(tv_weight, jnp.float32))


@dataclasses.dataclass(frozen=True)
class Objective:
    """Static choices of the objective (hashable: part of what is compiled)."""

    content_layer: str | None
    style_layers: tuple[str, ...]
    pooling: str = "avg"
    dtype: str = "float32"  # VGG compute precision; Gram matrices and losses stay float32
    remat: bool = False  # keep only each VGG block's input for the backward pass

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

    def loss(self, params, targets, weights) -> LossFunction:
        """The objective of x for fixed parameters, targets and weights, as solvers take it."""
        total = lambda x: self.total(x, params, targets, weights)
        return LossFunction(total, jax.value_and_grad(total))
