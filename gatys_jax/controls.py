"""A run's controls applied to its images: colours kept (colors.py), style blends, the style's
scale, and spatial masks (masks.py). Before the optimization they shape the images and the
targets of each scale; after it, luminance mode puts the content's chroma back.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import colors, images, inputs, masks
from .config import StyleConfig
from .errors import ConfigError
from .objective import Objective, Problem, build_problem
from .weights import VGGWeights


@dataclasses.dataclass
class Images:
    """The run's images as read, the colour controls applied."""

    content: np.ndarray  # what the optimization matches (grey in luminance mode)
    styles: list[np.ndarray]
    original: np.ndarray  # the content as read: its colours come back in luminance mode
    content_regions: np.ndarray | None = None  # (R, H, W) at the content's size
    style_regions: list[np.ndarray] | None = None  # (R, H_s, W_s) at each style's size


def _regions(config: StyleConfig, content: np.ndarray, styles: list[np.ndarray]):
    if config.content_mask is None:
        return None, None
    if len(config.style_mask) != len(styles):
        raise ConfigError("style_mask", f"has {len(config.style_mask)} masks for "
                                        f"{len(styles)} style images: give one per style")
    content_mask = _mask(config.content_mask, content, "content_mask", "the content image")
    style_masks = [_mask(source, style, "style_mask", f"style image {index + 1}")
                   for index, (source, style) in enumerate(zip(config.style_mask, styles))]
    labels = masks.regions(content_mask, style_masks)
    if config.blend is None:  # one image per style: each style needs every region
        for index, mask in enumerate(style_masks):
            missing = sorted(set(labels) - set(masks.labels_of(mask)))
            if missing:
                raise ConfigError("style_mask", f"{index + 1} lacks the content mask's colour "
                                                f"{missing[0]} (or blend the styles)")
    return (masks.one_hot(content_mask, labels),
            [masks.one_hot(mask, labels) for mask in style_masks])


def _mask(source, image: np.ndarray, field: str, what: str) -> np.ndarray:
    mask = inputs.read(source)
    if mask.shape[:2] != image.shape[:2]:
        raise ConfigError(field, f"is {mask.shape[1]}x{mask.shape[0]} px but {what} is "
                                 f"{image.shape[1]}x{image.shape[0]}: make them the same size")
    return mask


def prepare(config: StyleConfig, content: np.ndarray, styles: list[np.ndarray]) -> Images:
    """The images the optimization sees, from the images as read."""
    if config.blend is not None and len(config.blend) != len(styles):
        raise ConfigError("blend", f"has {len(config.blend)} weights for {len(styles)} style "
                                   "images: give one per style")
    content_regions, style_regions = _regions(config, content, styles)
    optimized, styled = content, styles
    if config.preserve_colors == "histogram":
        styled = [colors.match_histogram(style, content) for style in styles]
    elif config.preserve_colors == "luminance":
        pairs = [colors.luminance_inputs(content, style) for style in styles]
        optimized, styled = pairs[0][0], [style for _, style in pairs]
    return Images(optimized, styled, content, content_regions, style_regions)


def style_shape(config: StyleConfig, shape: tuple[int, int]) -> tuple[int, int]:
    """The size a style image is resized to for an output of `shape`: the content's
    (the paper), times style_scale."""
    return tuple(max(1, round(side * config.style_scale)) for side in shape)


def problem(config: StyleConfig, source: Images, objective: Objective, vgg: VGGWeights,
            params, shape: tuple[int, int]) -> Problem:
    """The problem of one scale: every image and mask resized to it."""
    target = style_shape(config, shape)
    area = lambda regions, size: np.stack([images.resize_area(r, *size) for r in regions])
    return build_problem(
        objective, vgg, images.resize(source.content, *shape),
        [images.resize(style, *target) for style in source.styles], params,
        blend=config.blend,
        content_regions=(None if source.content_regions is None
                         else area(source.content_regions, shape)),
        style_regions=(None if source.style_regions is None
                       else [area(r, target) for r in source.style_regions]))


def finish(config: StyleConfig, source: Images, rgb: np.ndarray) -> np.ndarray:
    """The result as the controls want it: luminance mode puts the content's chroma back."""
    if config.preserve_colors != "luminance":
        return rgb
    original = images.resize(source.original, *rgb.shape[:2])
    return colors.with_chroma(rgb, original)
