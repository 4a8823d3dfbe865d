"""Spatial guidance (Gatys, Ecker, Bethge, Hertzmann & Shechtman 2017, "Controlling Perceptual
Factors in Neural Style Transfer"): regions labelled by colour in a mask of the content image
and in a mask of each style image; region r of the output takes its style from region r of
the style images.

A mask is an image whose distinct colours are its regions (anti-aliased edges are snapped to
the nearest label). Black (0, 0, 0) in the content mask marks a region that takes no style at
all (a face to protect, say). Masks are resized to the image they guide and then averaged down
to each layer's positions, so that a region's weight at a position is the fraction of the
receptive field's pixels it covers.
"""

from __future__ import annotations

import numpy as np

from gatys_jax.errors import GatysError
from gatys_jax.io import images

UNSTYLED = (0, 0, 0)
MAX_REGIONS = 8


def labels_of(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """The region colours of a mask: its colours covering at least 1% of the pixels."""
    pixels = np.round(np.asarray(mask)).astype(np.int32).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    keep = counts >= 0.01 * len(pixels)
    return sorted(tuple(int(v) for v in c) for c in colours[keep])


def one_hot(mask: np.ndarray, labels: list[tuple[int, int, int]]) -> np.ndarray:
    """(R, H, W) float32: 1 where a pixel's nearest label is region r. A pixel nearest to
    black (UNSTYLED), when black is not one of `labels`, belongs to no region."""
    pixels = np.asarray(mask, np.float32)
    candidates = labels + ([UNSTYLED] if UNSTYLED not in labels else [])
    distance = np.stack([np.sum((pixels - np.asarray(label, np.float32)) ** 2, axis=-1)
                         for label in candidates])
    return (np.argmin(distance, axis=0)[None] == np.arange(len(labels))[:, None, None]
            ).astype(np.float32)


def regions(content_mask: np.ndarray, style_masks: list[np.ndarray]) -> list[tuple]:
    """The labels of the run, checked: every label of a style mask is in the content mask,
    and every label of the content mask but black is in some style mask."""
    content_labels = labels_of(content_mask)
    if not set(content_labels) - {UNSTYLED}:
        raise GatysError("the content mask has no region to style: paint each region in one "
                         "flat colour (other than black) covering at least 1% of the mask")
    if len(content_labels) > MAX_REGIONS:
        raise GatysError(f"the content mask has {len(content_labels)} colours; at most "
                         f"{MAX_REGIONS} regions are supported (use flat colours)")
    styled = set()
    for index, mask in enumerate(style_masks):
        if not labels_of(mask):
            raise GatysError(f"style mask {index + 1} has no region: paint each region in one "
                             "flat colour covering at least 1% of the mask")
        extra = sorted(set(labels_of(mask)) - set(content_labels))
        if extra:
            raise GatysError(f"style mask {index + 1} has the colour {extra[0]}, which the "
                             "content mask does not: every region needs a counterpart")
        styled |= set(labels_of(mask))
    missing = sorted(set(content_labels) - styled - {UNSTYLED})
    if missing:
        raise GatysError(f"the content mask has the colour {missing[0]}, which no style mask "
                         "has: paint it in a style mask, or black to leave it unstyled")
    return [label for label in content_labels if label != UNSTYLED]


def per_layer(weights: np.ndarray, shapes: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """(R, H, W) region weights averaged down to each layer's (H_l, W_l): {layer: (R, H_l, W_l)}."""
    out = {}
    for layer, (height, width) in shapes.items():
        out[layer] = np.stack([images.resize_area(region, height, width) for region in weights])
    return out
