"""VGG19's feature network in Flax: its 16 conv layers in 5 blocks, and their names and shapes.

Images are NHWC. Every conv is 3x3 with SAME padding and a ReLU; a 2x2 pooling (stride 2,
floor) sits between blocks. Parameters are a tree {layer: {"kernel": (3, 3, C_in, C_out),
"bias": (C_out,)}} passed to `apply`, never read inside the module.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from .errors import GatysError

LAYERS = (
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
)
WIDTHS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}  # filters per block
MIN_SIDE = 16  # px: conv5_x needs at least one pixel after four 2x2 poolings
POOLINGS = ("avg", "max")


def layer_block(layer: str) -> int:
    """Block number (1..5) of a conv layer name such as 'conv3_2'."""
    return int(layer[4])


def kernel_shape(layer: str) -> tuple[int, int, int, int]:
    """HWIO shape of a layer's kernel."""
    index = LAYERS.index(layer)
    c_in = 3 if index == 0 else WIDTHS[layer_block(LAYERS[index - 1])]
    return (3, 3, c_in, WIDTHS[layer_block(layer)])


def layer_scale(layer: str) -> int:
    """How many input pixels one position of `layer` spans per side (2 per pooling before it)."""
    return 2 ** (layer_block(layer) - 1)


def check_layers(layers: Sequence[str]) -> None:
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise GatysError(f"unknown layer {unknown[0]!r}; choose from {', '.join(LAYERS)}")


def check_size(height: int, width: int) -> None:
    if min(height, width) < MIN_SIDE:
        raise GatysError(f"image of {height}x{width} px is too small: VGG19 needs at least "
                         f"{MIN_SIDE} px per side")


def deepest(layers: Sequence[str]) -> str:
    """The layer of `layers` that comes last in the network."""
    return max(layers, key=LAYERS.index)


class VGG19(nn.Module):
    """Post-ReLU activations of VGG19 by the paper's names.

    `__call__(x, layers)` takes x of shape (B, H, W, 3) in the weights' input convention and
    returns {layer: (B, H_l, W_l, C_l)} for the requested layers, computing only up to the
    deepest one.
    """

    pooling: str = "avg"
    dtype: jnp.dtype = jnp.float32  # compute precision; parameters stay float32

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
                x = pool(x, (2, 2), strides=(2, 2), padding="VALID")
            x = nn.Conv(WIDTHS[layer_block(layer)], (3, 3), padding="SAME", dtype=self.dtype,
                        param_dtype=jnp.float32, name=layer)(x)
            x = nn.relu(x)
            if layer in wanted:
                out[layer] = x
        return out


def variables(params: dict) -> dict:
    """Flax variables from a params tree {layer: {"kernel", "bias"}}."""
    return {"params": params}
