"""The paper's losses, as pure jit-able functions (Gatys et al. 2016, eqs. 1-7).

Features F^l of one image are arrays (H_l, W_l, N_l); M_l = H_l * W_l.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp

from .errors import GatysError
from .vgg import VGG19, check_layers, variables

DEFAULT_CONTENT_LAYER = "conv4_2"
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


def gram(features: jnp.ndarray) -> jnp.ndarray:
    """G = F F^T for F (N_l, M_l): (H, W, N) -> (N, N), unnormalized, at least float32."""
    f = features.reshape(-1, features.shape[-1])
    f = f.astype(jnp.promote_types(f.dtype, jnp.float32))
    return f.T @ f


def content_loss(features_x: jnp.ndarray, features_c: jnp.ndarray) -> jnp.ndarray:
    """1/2 sum (F_x - F_c)^2 (eq. 1)."""
    dtype = jnp.promote_types(jnp.result_type(features_x, features_c), jnp.float32)
    diff = features_x.astype(dtype) - features_c.astype(dtype)
    return 0.5 * jnp.sum(diff * diff)


def style_layer_loss(gram_x: jnp.ndarray, gram_s: jnp.ndarray, num_positions: int) -> jnp.ndarray:
    """E_l = 1/(4 N_l^2 M_l^2) sum (G_x - G_s)^2 (eq. 4); N_l = gram size, M_l = positions."""
    n = gram_x.shape[0]
    diff = gram_x - gram_s
    return jnp.sum(diff * diff) / (4.0 * n * n * float(num_positions) ** 2)


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Static choices of the objective (hashable: part of what is compiled)."""

    content_layer: str | None = DEFAULT_CONTENT_LAYER  # None: style only
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS  # (): content only
    pooling: str = "avg"
    dtype: str = "float32"  # VGG compute precision; Gram matrices and losses stay float32

    def __post_init__(self):
        layers = self.layers
        if not layers:
            raise GatysError("the objective needs a content layer or at least one style layer")
        check_layers(layers)

    @property
    def layers(self) -> tuple[str, ...]:
        content = (self.content_layer,) if self.content_layer else ()
        return tuple(dict.fromkeys(content + tuple(self.style_layers)))

    def model(self) -> VGG19:
        return VGG19(pooling=self.pooling, dtype=jnp.dtype(self.dtype))


class Targets(NamedTuple):
    """What x is compared to: content features (H, W, N) or None; style Grams, one per layer."""

    content: jnp.ndarray | None
    style: tuple[jnp.ndarray, ...]


class LossWeights(NamedTuple):
    """Runtime weights (batchable): lambda = alpha/beta on the content loss; w_l per style layer."""

    content: jnp.ndarray  # scalar
    style: jnp.ndarray  # (len(style_layers),)


def make_loss_weights(content_weight: float, style_weights: Sequence[float]) -> LossWeights:
    values = [content_weight, *style_weights]
    if not all(jnp.isfinite(v) and v >= 0 for v in values):
        raise GatysError(f"loss weights must be finite and non-negative, got {values}")
    return LossWeights(jnp.asarray(content_weight, jnp.float32),
                       jnp.asarray(style_weights, jnp.float32).reshape(-1))


def features(params: dict, x: jnp.ndarray, config: LossConfig) -> dict[str, jnp.ndarray]:
    """Activations of one image x (H, W, 3) at the objective's layers: {layer: (H_l, W_l, N_l)}."""
    out = config.model().apply(variables(params), x[None], config.layers)
    return {layer: value[0] for layer, value in out.items()}


def make_targets(params: dict, content_x: jnp.ndarray, style_x: jnp.ndarray,
                 config: LossConfig) -> Targets:
    """Targets from network inputs of the content and style images (each (H, W, 3))."""
    content = (features(params, content_x, config)[config.content_layer]
               if config.content_layer else None)
    if config.style_layers:
        style_features = features(params, style_x, config)
        style = tuple(gram(style_features[layer]) for layer in config.style_layers)
    else:
        style = ()
    return Targets(content, style)


class Losses(NamedTuple):
    total: jnp.ndarray  # lambda * content + style
    content: jnp.ndarray  # L_content, unweighted
    style: jnp.ndarray  # sum_l w_l E_l
    style_layers: jnp.ndarray  # (L,) E_l, unweighted


def losses(params: dict, x: jnp.ndarray, targets: Targets, weights: LossWeights,
           config: LossConfig) -> Losses:
    """All losses of x (H, W, 3), the network input being optimized."""
    feats = features(params, x, config)
    content = (content_loss(feats[config.content_layer], targets.content)
               if config.content_layer else jnp.zeros((), jnp.float32))
    per_layer = jnp.stack([
        style_layer_loss(gram(feats[layer]), target, feats[layer].shape[0] * feats[layer].shape[1])
        for layer, target in zip(config.style_layers, targets.style)
    ]) if config.style_layers else jnp.zeros((0,), jnp.float32)
    style = jnp.sum(weights.style * per_layer)
    return Losses(weights.content * content + style, content, style, per_layer)


def total_loss(params, x, targets, weights, config) -> tuple[jnp.ndarray, Losses]:
    """(L_total, all losses): the scalar objective with the parts as auxiliary output."""
    parts = losses(params, x, targets, weights, config)
    return parts.total, parts


def value_and_grad(config: LossConfig):
    """f(x, params, targets, weights) -> ((L_total, Losses), dL/dx)."""
    def objective(x, params, targets, weights):
        return total_loss(params, x, targets, weights, config)
    return jax.value_and_grad(objective, has_aux=True)
