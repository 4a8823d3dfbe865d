"""VGG19's layers by name: their order, blocks, kernel shapes and scales, without the network
itself (so that settings can check layer names without importing flax)."""

from __future__ import annotations

from typing import Sequence

from gatys_jax.errors import GatysError

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
