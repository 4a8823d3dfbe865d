"""VGG19's feature network in Flax: its 16 conv layers in 5 blocks, and their names and shapes.

Images are NHWC. Every conv is 3x3 with SAME padding and a ReLU; a 2x2 pooling (stride 2,
floor) sits between blocks. Parameters are a tree {layer: {"kernel": (3, 3, C_in, C_out),
"bias": (C_out,)}} passed to `apply`, never read inside the module.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.ad_checkpoint import checkpoint_name

from gatys_jax.errors import GatysError
from gatys_jax.model.layers import (LAYERS, POOLINGS, WIDTHS, check_layers, check_size, deepest,
                                    layer_block)

BLOCK_INPUT = "vgg_block_input"  # checkpoint name of each block's pooled input


def matmul_conv_positions(backend: str | None = None) -> int:
    """Up to how many positions a wide (>= 256 channels in) layer runs as one matrix product
    over its 3x3 patches instead of a convolution: on XLA:CPU the convolution is several times
    slower on small, deep maps (docs/benchmarks.md, `python -m benchmarks.features`); on
    accelerators never."""
    return 1024 if (backend or jax.default_backend()) == "cpu" else 0


class Conv3x3(nn.Module):
    """3x3 convolution, SAME padding, with bias; as a product over 3x3 patches (im2col) when
    `as_matmul`. Parameters: kernel (3, 3, C_in, C_out), bias (C_out,)."""

    features: int
    dtype: jnp.dtype
    as_matmul: bool = False

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        kernel = self.param("kernel", nn.initializers.lecun_normal(),
                            (3, 3, x.shape[-1], self.features), jnp.float32).astype(self.dtype)
        bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
        if self.as_matmul:
            height, width = x.shape[1:3]
            padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
            patches = jnp.concatenate([padded[:, i:i + height, j:j + width]
                                       for i in range(3) for j in range(3)], axis=-1)
            y = patches @ kernel.reshape(-1, self.features)
        else:
            y = jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + bias.astype(self.dtype)


class VGG19(nn.Module):
    """Post-ReLU activations of VGG19 by the paper's names.

    `__call__(x, layers)` takes x of shape (B, H, W, 3) in the weights' input convention and
    returns {layer: (B, H_l, W_l, C_l)} for the requested layers, computing only up to the
    deepest one.
    """

    pooling: str = "avg"
    dtype: jnp.dtype = jnp.float32  # compute precision; parameters stay float32
    matmul_positions: int = 0  # wide layers this small run as matrix products (Conv3x3)

    @nn.compact
    def __call__(self, x: jnp.ndarray, layers: Sequence[str] = LAYERS) -> dict[str, jnp.ndarray]:
        check_layers(layers)
        if self.pooling not in POOLINGS:
            raise GatysError(f"unknown pooling {self.pooling!r}; choose avg or max")
        check_size(x.shape[1], x.shape[2])
        last = LAYERS.index(deepest(layers))
        pool = nn.avg_pool if self.pooling == "avg" else nn.max_pool
        wanted = set(layers)
        out = {}
        x = x.astype(self.dtype)
        for index, layer in enumerate(LAYERS[: last + 1]):
            if index > 0 and layer_block(layer) != layer_block(LAYERS[index - 1]):
                x = checkpoint_name(pool(x, (2, 2), strides=(2, 2), padding="VALID"),
                                    BLOCK_INPUT)
            as_matmul = x.shape[-1] >= 256 and x.shape[1] * x.shape[2] <= self.matmul_positions
            x = Conv3x3(WIDTHS[layer_block(layer)], self.dtype, as_matmul, name=layer)(x)
            x = nn.relu(x)
            if layer in wanted:
                out[layer] = x
        return out


def variables(params: dict) -> dict:
    """Flax variables from a params tree {layer: {"kernel", "bias"}}."""
    return {"params": params}
