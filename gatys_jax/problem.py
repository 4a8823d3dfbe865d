"""What a run optimizes against, built once per scale: the images with the run's controls
applied (colours kept, style blends and scale, spatial masks), the network, the targets of
each style, and the starting image x_0. After the optimization, luminance mode puts the
content's chroma back.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.controls import colors, masks
from gatys_jax.errors import ConfigError
from gatys_jax.io import images, inputs
from gatys_jax.io.images import to_uint8
from gatys_jax.jobs import output_shape
from gatys_jax.model.convention import from_network, to_network
from gatys_jax.model.layers import layer_scale
from gatys_jax.model.objective import Objective, Targets
from gatys_jax.weights.h5 import VGGWeights


def read_inputs(content, styles: list, size: int | None,
                max_megapixels: float = images.MAX_MEGAPIXELS
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Content resized to long side `size` (None keeps it); each style resized to the
    content's size, as the paper does."""
    content = inputs.read(content, max_megapixels)
    content = images.resize(content, *output_shape(content.shape[:2], size))
    return content, [images.resize(inputs.read(style, max_megapixels), *content.shape[:2])
                     for style in styles]


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
                            images.resize(self.styles[style], *self.shape), config.noise_scale)
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


# ---------------------------------------------------------------- the run's controls

@dataclasses.dataclass
class Images:
    """The run's images as read, the colour controls applied."""

    content: np.ndarray  # what the optimization matches (grey in luminance mode)
    styles: list[np.ndarray]
    original: np.ndarray  # the content as read: its colours come back in luminance mode
    content_regions: np.ndarray | None = None  # (R, H, W) at the content's size
    style_regions: list[np.ndarray] | None = None  # (R, H_s, W_s) at each style's size


class Masks(NamedTuple):
    """Region masks given as images (paths, sample names or (H, W, 3) arrays): the content's
    and one per style image, in the same flat colours."""

    content: object
    styles: Sequence


def mask_sources(config: StyleConfig, given: Masks | None) -> Masks | None:
    """The region masks of a run: those given, else the settings' mask files, else none."""
    if given is None and config.content_mask is not None:
        return Masks(config.content_mask, config.style_mask)
    return given


def _regions(config: StyleConfig, content: np.ndarray, styles: list[np.ndarray],
             given: Masks | None):
    given = mask_sources(config, given)
    if given is None:
        return None, None
    if len(given.styles) != len(styles):
        raise ConfigError("style_mask", f"has {len(given.styles)} masks for "
                                        f"{len(styles)} style images: give one per style")
    content_mask = _mask(given.content, content, "content_mask", "the content image")
    style_masks = [_mask(source, style, "style_mask", f"style image {index + 1}")
                   for index, (source, style) in enumerate(zip(given.styles, styles))]
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


def prepare_images(config: StyleConfig, content: np.ndarray, styles: list[np.ndarray],
                   region_masks: Masks | None = None) -> Images:
    """The images the optimization sees, from the images as read; `region_masks` in place of
    config's content_mask and style_mask."""
    if config.blend is not None and len(config.blend) != len(styles):
        raise ConfigError("blend", f"has {len(config.blend)} weights for {len(styles)} style "
                                   "images: give one per style")
    content_regions, style_regions = _regions(config, content, styles, region_masks)
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


def scale_problem(config: StyleConfig, source: Images, objective: Objective,
                  vgg: VGGWeights, params, shape: tuple[int, int]) -> Problem:
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


def finish_image(config: StyleConfig, source: Images, rgb: np.ndarray) -> np.ndarray:
    """The result as the controls want it: luminance mode puts the content's chroma back."""
    if config.preserve_colors != "luminance":
        return rgb
    original = images.resize(source.original, *rgb.shape[:2])
    return colors.with_chroma(rgb, original)
