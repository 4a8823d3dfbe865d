"""The project's VGG19 weight file (HDF5): write, read, verify.

A weight file holds, for each of the 16 conv layers, `/<layer>/kernel` (3, 3, C_in, C_out,
HWIO, float32) and `/<layer>/bias` (C_out,), plus root attributes recording where the weights
came from and the input convention the network expects. A normalized file also holds
`/normalization/<layer>` (C_out,): the plain network's mean activation per filter, by which
the normalized activations are divided. `data_sha256` is a digest of every dataset and every
other attribute, so that a truncated, tampered or hand-edited file is refused; reading checks
every dataset's name, shape and dtype from its header before any data is read (a dataset may
declare far more than the file stores), then every value before anything uses the weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import h5py
import numpy as np

from gatys_jax.errors import GatysError
from gatys_jax.io import paths
from gatys_jax.io.files import write_atomic
from gatys_jax.model.convention import ATTRIBUTES as CONVENTION_ATTRIBUTES
from gatys_jax.model.convention import InputConvention
from gatys_jax.model.layers import LAYERS, kernel_shape

FORMAT_VERSION = 2
DIGEST = "data_sha256"
RESERVED = set(CONVENTION_ATTRIBUTES) | {"layers", "kernel_layout", "format_version",
                                         "normalized", DIGEST}


@dataclasses.dataclass
class VGGWeights:
    """Conv parameters as a Flax params tree {layer: {"kernel", "bias"}} (numpy float32)."""

    params: dict
    convention: InputConvention
    metadata: dict  # source, source_sha256, conversion, ... (strings)
    normalization: dict | None = None  # {layer: (C_out,) mean activation of the plain net}


def check_shape(name: str, shape: tuple, expected: tuple, where: str) -> None:
    """GatysError naming `name` unless its `shape` is VGG19's `expected`."""
    if tuple(shape) != expected:
        raise GatysError(f"{where}: {name} has shape {tuple(shape)}; VGG19 needs {expected}")


def _check_layout(name: str, shape: tuple, dtype, expected: tuple, where: str) -> None:
    """An array's shape and dtype, from the array or from a dataset's header alone."""
    check_shape(name, shape, expected, where)
    if dtype != np.float32:
        raise GatysError(f"{where}: {name} is {dtype}, not float32")


def check_params(params: dict, where: str = "weights") -> None:
    """Every layer present with VGG19's shapes, float32, finite; names the first bad one."""
    for layer in LAYERS:
        if layer not in params or set(params[layer]) != {"kernel", "bias"}:
            raise GatysError(f"{where} lack layer {layer} (its kernel and bias)")
        expected = {"kernel": kernel_shape(layer), "bias": (kernel_shape(layer)[3],)}
        for name, shape in expected.items():
            array = np.asarray(params[layer][name])
            _check_layout(f"{layer}/{name}", array.shape, array.dtype, shape, where)
            if not np.all(np.isfinite(array)):
                raise GatysError(f"{where}: {layer}/{name} holds non-finite values")
    extra = sorted(set(params) - set(LAYERS))
    if extra:
        raise GatysError(f"{where} hold an unknown layer {extra[0]!r}")


def check_normalization(normalization: dict, where: str = "weights") -> None:
    if set(normalization) != set(LAYERS):
        missing = sorted(set(LAYERS) ^ set(normalization), key=str)[0]
        raise GatysError(f"{where}: normalization scales missing or unknown for {missing}")
    for layer in LAYERS:
        scale = np.asarray(normalization[layer])
        if scale.shape != (kernel_shape(layer)[3],) or not np.all(np.isfinite(scale) & (scale > 0)):
            raise GatysError(f"{where}: normalization/{layer} must hold "
                             f"{kernel_shape(layer)[3]} positive finite scales")


def check_convention(convention: InputConvention, where: str = "weights") -> None:
    values = [convention.scale, *convention.mean, *convention.std]
    if (convention.channel_order not in ("BGR", "RGB") or len(convention.mean) != 3
            or len(convention.std) != 3 or not all(math.isfinite(v) for v in values)
            or convention.scale <= 0 or min(convention.std) <= 0):
        raise GatysError(f"{where}: invalid input convention {convention}")


def _datasets(weights: VGGWeights) -> dict[str, np.ndarray]:
    out = {}
    for layer in LAYERS:
        out[f"{layer}/kernel"] = np.asarray(weights.params[layer]["kernel"], np.float32)
        out[f"{layer}/bias"] = np.asarray(weights.params[layer]["bias"], np.float32)
    for layer, scale in (weights.normalization or {}).items():
        out[f"normalization/{layer}"] = np.asarray(scale, np.float32)
    return out


def _plain(value):
    """An attribute as h5py returns it -> plain JSON-able Python (for the digest)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _digest(datasets: dict[str, np.ndarray], attrs: dict) -> str:
    sha = hashlib.sha256()
    for name in sorted(datasets):
        array = datasets[name]
        sha.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        sha.update(np.ascontiguousarray(array).tobytes())
    covered = {k: _plain(v) for k, v in attrs.items() if k != DIGEST}
    sha.update(json.dumps(covered, sort_keys=True).encode())
    return sha.hexdigest()


def check_output_path(path: str | Path) -> Path:
    """Fail early, before any work, when `path` cannot take a weight file."""
    path = Path(path)
    if path.is_dir():
        raise GatysError(f"cannot write weights to {path}: it is a folder; name a file")
    return path


def save(weights: VGGWeights, path: str | Path) -> Path:
    """Write `weights` to an h5 file atomically (temporary file, then rename)."""
    check_params(weights.params)
    check_convention(weights.convention)
    if weights.normalization is not None:
        check_normalization(weights.normalization)
    path = check_output_path(path)
    datasets = _datasets(weights)
    attrs = {**{k: str(v) for k, v in weights.metadata.items()},
             **weights.convention.to_attrs(), "layers": json.dumps(list(LAYERS)),
             "kernel_layout": "HWIO (3, 3, C_in, C_out), cross-correlation, SAME padding",
             "format_version": FORMAT_VERSION, "normalized": weights.normalization is not None}
    attrs[DIGEST] = _digest(datasets, attrs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GatysError(f"cannot write {path}: {e.strerror or e}") from None

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            for name, array in datasets.items():
                f.create_dataset(name, data=array)
            f.attrs.update(attrs)

    return write_atomic(path, write)


def _layout() -> dict[str, tuple]:
    """{dataset name: shape} of every dataset a weight file may hold (all float32)."""
    shapes = {}
    for layer in LAYERS:
        kernel = kernel_shape(layer)
        shapes.update({f"{layer}/kernel": kernel, f"{layer}/bias": kernel[3:],
                       f"normalization/{layer}": kernel[3:]})
    return shapes


def _header(path: Path) -> tuple[dict[str, tuple], dict]:
    """({dataset name: (shape, dtype)}, attributes) of a file, from the datasets' headers
    alone."""
    layout: dict[str, tuple] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            layout[name] = (obj.shape, obj.dtype)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        attrs = {k: f.attrs[k] for k in f.attrs}
    return layout, attrs


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    datasets: dict[str, np.ndarray] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            datasets[name] = obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        attrs = {k: f.attrs[k] for k in f.attrs}
    return datasets, attrs


def _convention(attrs, where: str) -> InputConvention:
    try:
        convention = InputConvention.from_attrs({k: _plain(attrs[k]) for k in CONVENTION_ATTRIBUTES})
    except (KeyError, TypeError, ValueError) as e:
        raise GatysError(f"{where} lacks a valid input convention ({e})") from None
    check_convention(convention, where)
    return convention


def _unreadable(path: Path, error: Exception) -> GatysError:
    return GatysError(f"weight file {path} is unreadable or truncated ({error}); make it again "
                      "(gatys-jax weights fetch --force)")


def load(path: str | Path) -> VGGWeights:
    """Read and verify a weight file written by `save`."""
    path = Path(path)
    if not path.is_file():
        raise GatysError(f"weight file {path} not found; make it with: gatys-jax weights fetch "
                         "(or gatys-jax weights convert SOURCE)")
    try:
        layout, attrs = _header(path)
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise _unreadable(path, e) from None
    version = _plain(attrs.get("format_version"))
    if version != FORMAT_VERSION or DIGEST not in attrs:
        older = isinstance(version, int) and version < FORMAT_VERSION
        raise GatysError(
            f"{path} is " + (f"a weight file of an older format (version {version}); make it "
                             "again (gatys-jax weights fetch --force, then weights normalize)"
                             if older else "not a gatys-jax weight file; convert it first "
                             "(gatys-jax weights convert SOURCE)"))
    where = f"weight file {path}"
    expected = _layout()
    for name, (shape, dtype) in sorted(layout.items()):
        if name not in expected:
            raise GatysError(f"{where} holds an unknown dataset {name!r}")
        _check_layout(name, shape, dtype, expected[name], where)
    try:
        datasets, attrs = _read(path)
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise _unreadable(path, e) from None
    if _digest(datasets, attrs) != _plain(attrs[DIGEST]):
        raise GatysError(f"weight file {path} fails its checksum (damaged or modified); "
                         "make it again (gatys-jax weights fetch --force)")
    params = {layer: {name: datasets[f"{layer}/{name}"] for name in ("kernel", "bias")
                      if f"{layer}/{name}" in datasets} for layer in LAYERS}
    check_params(params, where)
    normalization = None
    if _plain(attrs.get("normalized")):
        normalization = {layer: datasets[f"normalization/{layer}"] for layer in LAYERS
                         if f"normalization/{layer}" in datasets}
        check_normalization(normalization, where)
    elif any(name.startswith("normalization/") for name in datasets):
        raise GatysError(f"{where} holds normalization scales but is marked plain")
    convention = _convention(attrs, where)
    metadata = {k: str(_plain(v)) for k, v in attrs.items() if k not in RESERVED}
    metadata[DIGEST] = str(_plain(attrs[DIGEST]))  # verified above: names the data read
    return VGGWeights(params, convention, metadata, normalization)


def resolve(source: str | Path | None) -> VGGWeights:
    """The weights a run uses: a file, or (None) the default file, the Caffe VGG19 fetched by
    `gatys-jax weights fetch`."""
    if source is None:
        default = paths.plain_weights()
        if not default.is_file():
            raise GatysError(f"default weight file {default} not found; fetch it with: "
                             "gatys-jax weights fetch")
        return load(default)
    return load(source)


def convention_of(source: str | Path | VGGWeights | None) -> InputConvention:
    """The input convention of the weights `resolve` would give, from the file's attributes
    alone (`load` checks the rest when the run reads it)."""
    if isinstance(source, VGGWeights):
        return source.convention
    path = paths.plain_weights() if source is None else Path(source)
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: f.attrs[k] for k in f.attrs}
    except (OSError, KeyError, ValueError, TypeError):
        return resolve(source).convention  # its error says what is wrong with the file
    return _convention(attrs, f"weight file {path}")
