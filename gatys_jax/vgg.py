"""VGG19 feature network in Flax: 16 conv layers, 5 pooling layers, named activations, NHWC."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from .errors import GatysError
from .weights import LAYERS, WIDTHS, layer_block

MIN_SIDE = 16  # conv5_x needs at least one pixel after four 2x2 poolings
POOLINGS = ("avg", "max")


def check_layers(layers: Sequence[str]) -> None:
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise GatysError(f"unknown layer {unknown[0]!r}; choose from {', '.join(LAYERS)}")


def check_size(height: int, width: int) -> None:
    if min(height, width) < MIN_SIDE:
        raise GatysError(f"image of {height}x{width} px is too small: VGG19 needs at least "
                         f"{MIN_SIDE} px per side (use a larger image or --size)")


class VGG19(nn.Module):
    """Post-ReLU activations of VGG19 by the paper's names.

    `__call__(x, layers)` takes x of shape (B, H, W, 3) in the weights' input convention and
    returns {layer: (B, H_l, W_l, C_l)} for the requested layers, computing only up to the
    deepest one. Parameters: {"params": {"conv1_1": {"kernel", "bias"}, ...}} (HWIO kernels).
    """

    pooling: str = "avg"
    dtype: jnp.dtype = jnp.float32  # compute precision; parameters stay float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, layers: Sequence[str] = LAYERS) -> dict[str, jnp.ndarray]:
        check_layers(layers)
        if self.pooling not in POOLINGS:
            raise GatysError(f"unknown pooling {self.pooling!r}; choose avg or max")
        check_size(x.shape[1], x.shape[2])
        deepest = max(LAYERS.index(layer) for layer in layers)
        pool = nn.avg_pool if self.pooling == "avg" else nn.max_pool
        wanted = set(layers)
        out = {}
        x = x.astype(self.dtype)
        for index, layer in enumerate(LAYERS[: deepest + 1]):
            if index > 0 and layer_block(layer) != layer_block(LAYERS[index - 1]):
                x = pool(x, (2, 2), strides=(2, 2), padding="VALID")
            x = nn.Conv(WIDTHS[layer_block(layer)], (3, 3), padding="SAME", dtype=self.dtype,
                        param_dtype=jnp.float32, name=layer)(x)
            x = nn.relu(x)
            if layer in wanted:
                out[layer] = x
        return out


def variables(params: dict) -> dict:
    """Flax variables from a weights params tree {layer: {"kernel", "bias"}}."""
    return {"params": params}
