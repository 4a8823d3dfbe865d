"""The paper's normalized VGG (section 2): every filter's mean activation is 1.

With m_l (C_l,) the plain network's mean post-ReLU activation of layer l over the calibration
images and all positions, the normalized layer l is

    kernel'_l[:, :, i, o] = kernel_l[:, :, i, o] * m_{l-1}[i] / m_l[o],   bias'_l = bias_l / m_l

(m_0 = 1 for the image). By induction its activations are the plain ones divided by m_l,
because ReLU and pooling commute with positive per-channel scaling; so one forward pass of the
plain network gives every m_l.

A filter that is dead on the calibration images (m_l = 0, or below DEAD_FRACTION of its
layer's median) keeps scale 1 and is reported: dividing by a near-zero mean would blow its
response to other inputs (white noise, say) up by orders of magnitude. The Caffe VGG19 has one
such filter in conv2_1 (mean about 2e-7 against a median of about 113).
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
from skimage import data as skdata

from gatys_jax.errors import GatysError
from gatys_jax.io import images
from gatys_jax.model.convention import to_network
from gatys_jax.model.layers import LAYERS
from gatys_jax.model.vgg import VGG19, variables
from gatys_jax.weights.h5 import VGGWeights

CALIBRATION_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left",
                      "hubble_deep_field", "immunohistochemistry", "horse")
CALIBRATION_SIZE = 256  # long side, px
DEAD_FRACTION = 1e-3  # a filter whose mean is below this fraction of its layer's median is dead


def calibration_images(size: int = CALIBRATION_SIZE) -> list[np.ndarray]:
    """Photographs bundled with scikit-image, RGB float32 0..255, long side `size` px."""
    out = []
    for name in CALIBRATION_IMAGES:
        if name == "motorcycle_left":
            pixels = skdata.stereo_motorcycle()[0]
        else:
            pixels = getattr(skdata, name)()
        pixels = np.asarray(pixels)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=-1)
        if pixels.dtype == bool:
            pixels = pixels.astype(np.uint8) * 255
        out.append(images.resize_long_side(pixels[..., :3].astype(np.float32), size))
    return out


def mean_activations(weights: VGGWeights, calibration: list[np.ndarray]) -> dict[str, np.ndarray]:
    """{layer: (C_l,) float64 mean post-ReLU activation over all images and positions}."""
    model = VGG19(pooling="avg")
    forward = jax.jit(lambda p, x: model.apply(variables(p), x, LAYERS))
    sums = {layer: 0.0 for layer in LAYERS}
    counts = {layer: 0 for layer in LAYERS}
    for image in calibration:
        x = to_network(image, weights.convention)[None]
        for layer, act in forward(weights.params, x).items():
            act = np.asarray(act, np.float64)
            sums[layer] = sums[layer] + act.sum(axis=(0, 1, 2))
            counts[layer] += act.shape[1] * act.shape[2]
    return {layer: sums[layer] / counts[layer] for layer in LAYERS}


def rescale(weights: VGGWeights, means: dict[str, np.ndarray]) -> tuple[VGGWeights, dict[str, list[int]]]:
    """Normalized weights from mean activations; also {layer: indices of dead filters}."""
    alive = {layer: means[layer] > DEAD_FRACTION * np.median(means[layer]) for layer in LAYERS}
    dead = {layer: np.flatnonzero(~alive[layer]).tolist() for layer in LAYERS}
    scales = {layer: np.where(alive[layer], means[layer], 1.0) for layer in LAYERS}
    params, previous = {}, np.ones(3)
    for layer in LAYERS:
        kernel = np.asarray(weights.params[layer]["kernel"], np.float64)
        bias = np.asarray(weights.params[layer]["bias"], np.float64)
        params[layer] = {
            "kernel": (kernel * previous[:, None] / scales[layer]).astype(np.float32),
            "bias": (bias / scales[layer]).astype(np.float32),
        }
        previous = scales[layer]
    metadata = dict(weights.metadata)
    metadata["normalization"] = (
        "per-filter mean post-ReLU activation set to 1 over scikit-image photographs "
        f"{', '.join(CALIBRATION_IMAGES)} at {CALIBRATION_SIZE} px long side, all positions; "
        "/normalization/<layer> holds the scales: the plain network's means, 1 for filters "
        f"below {DEAD_FRACTION:g} of their layer's median (dead)")
    dead_filters = {k: v for k, v in dead.items() if v}
    if dead_filters:
        metadata["dead_filters"] = str(dead_filters)
    normalized = dataclasses.replace(
        weights, params=params, metadata=metadata,
        normalization={k: v.astype(np.float32) for k, v in scales.items()})
    return normalized, dead_filters


def normalize(weights: VGGWeights, calibration: list[np.ndarray] | None = None):
    """(normalized VGGWeights, {layer: dead filter indices}) for plain `weights`."""
    if weights.normalization is not None:
        raise GatysError("these weights are already normalized; normalize the plain file")
    calibration = calibration_images() if calibration is None else calibration
    return rescale(weights, mean_activations(weights, calibration))
