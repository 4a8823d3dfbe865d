"""Input conventions: how an RGB image in 0..255 becomes a network's input, and back.

Images in memory are float32 RGB arrays (..., H, W, 3) with values 0..255; a network input
is what the weights were trained on (Caffe: BGR, 0..255, mean subtracted; torchvision: RGB,
0..1, mean and std).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class InputConvention:
    """input[..., c] = (rgb[..., order[c]] / 255 * scale - mean[c]) / std[c]"""

    channel_order: str  # "BGR" or "RGB": the network's channel order
    scale: float  # value of a full-intensity pixel: 255 (Caffe) or 1 (torchvision)
    mean: tuple[float, float, float]  # per network channel, in units of `scale`
    std: tuple[float, float, float]

    def to_attrs(self) -> dict:
        return {"input_channel_order": self.channel_order, "input_scale": self.scale,
                "input_mean": list(self.mean), "input_std": list(self.std)}

    @classmethod
    def from_attrs(cls, attrs) -> "InputConvention":
        return cls(str(attrs["input_channel_order"]), float(attrs["input_scale"]),
                   tuple(float(v) for v in attrs["input_mean"]),
                   tuple(float(v) for v in attrs["input_std"]))


CAFFE = InputConvention("BGR", 255.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0))
TORCHVISION = InputConvention("RGB", 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
ATTRIBUTES = tuple(CAFFE.to_attrs())


def to_network(image: np.ndarray, convention: InputConvention) -> np.ndarray:
    """RGB 0..255 (..., H, W, 3) -> network input in `convention`."""
    x = np.asarray(image, np.float32) / 255.0 * convention.scale
    if convention.channel_order == "BGR":
        x = x[..., ::-1]
    return (x - np.asarray(convention.mean, np.float32)) / np.asarray(convention.std, np.float32)


def from_network(x: np.ndarray, convention: InputConvention) -> np.ndarray:
    """Inverse of `to_network`: network input -> RGB 0..255 float32 (not clipped)."""
    x = np.asarray(x, np.float32) * np.asarray(convention.std, np.float32)
    x = x + np.asarray(convention.mean, np.float32)
    if convention.channel_order == "BGR":
        x = x[..., ::-1]
    return (x / convention.scale * 255.0).astype(np.float32)
