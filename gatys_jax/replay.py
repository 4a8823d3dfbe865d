"""Replay a run from its metrics file: the same settings, inputs, λ values and seeds, checked
against the record (every input's pixels and the weights' data, by sha256) before anything
runs. On the same machine and versions the images come out identical, pixel for pixel.

The metrics file is read as JSON data and checked field by field; nothing in it is executed,
and it names only files to read (the inputs and the weights), never one to write.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gatys_jax import record, settings_file
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import inputs
from gatys_jax.problem import Masks
from gatys_jax.weights import h5


class Recorded:
    """What a metrics file says about its run, checked: the settings, the inputs by role
    (sources), and the λ values and seeds of its images."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        data = settings_file.table_of(self.path, "metrics file")
        self.settings = _table(data, "settings", self.path)
        facts, kept = _table(data, "run", self.path), _table(data, "record", self.path)
        self.inputs = _inputs(kept, self.path)
        self.weights = _table(kept, "weights", self.path)
        self.versions = kept.get("versions") if isinstance(kept.get("versions"), dict) else {}
        self.content_weights = _numbers(facts, "content_weights", self.path)
        self.seeds = [int(seed) for seed in _numbers(facts, "seeds", self.path)]

    def config(self) -> StyleConfig:
        return settings_file.config_of(self.settings, f"{self.path}: its settings do not load")

    def sources(self, role: str) -> list:
        return [entry["source"] for entry in self.inputs if entry["role"] == role]


def _table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise GatysError(f"metrics file {path} has no {key!r} table: it was not written by "
                         "gatys-jax stylize --metrics (of this version)")
    return value


def _numbers(facts: dict, key: str, path: Path) -> list:
    values = facts.get(key)
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        raise GatysError(f"metrics file {path}: run.{key} must be a list of numbers")
    return values


def _inputs(kept: dict, path: Path) -> list[dict]:
    entries = kept.get("inputs")
    roles = ("content", "style", "content mask", "style mask")
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and e.get("role") in roles
            and isinstance(e.get("pixels_sha256"), str)
            and (e.get("source") is None or isinstance(e.get("source"), str))
            for e in entries):
        raise GatysError(f"metrics file {path}: record.inputs is not a list of inputs")
    for entry in entries:
        if entry["source"] is None:
            raise GatysError(f"the run of {path} took its {entry['role']} as an array: a "
                             "replay needs every input as a file or a sample name")
    if sum(entry["role"] == "content" for entry in entries) != 1:
        raise GatysError(f"metrics file {path}: record.inputs must name one content image")
    return entries


def check_inputs(recorded: Recorded, max_megapixels: float) -> None:
    """Every input reads back as the run read it (same pixels, by sha256)."""
    for entry in recorded.inputs:
        pixels = inputs.read(entry["source"], max_megapixels)
        if record.pixels_sha256(pixels) != entry["pixels_sha256"]:
            raise GatysError(f"{entry['role']} {entry['source']} is not the image the run read "
                             "(its pixels differ): the run cannot be replayed from it")


def check_weights(recorded: Recorded, config: StyleConfig) -> h5.VGGWeights:
    """The weights config names, checked against the run's (the digest of their data)."""
    vgg = h5.resolve(config.weights)
    wanted = recorded.weights.get("data_sha256")
    if wanted is not None and vgg.metadata.get(h5.DIGEST) != wanted:
        raise GatysError(f"the weights {config.weights or 'default file'} are not the ones the "
                         "run used (their data digest differs)")
    return vgg


def replay(recorded: Recorded, output: str | Path | None = None, *,
           new_metrics: str | Path | None = None, on_update=None):
    """Run again the run a metrics file records (`Recorded(path)`), writing `output` (named
    as the run named its images) and `new_metrics`; a Result. GatysError before anything
    runs when an input or the weights are not what the run read. A version of a library that
    differs from the record is said on stderr: the pixels may then differ in their last
    bits."""
    from gatys_jax.transfer import stylize_batch

    config = recorded.config()
    check_inputs(recorded, config.max_megapixels)
    vgg = check_weights(recorded, config)
    changed = [f"{name} {was} -> {now}" for name, now in record.versions().items()
               if (was := recorded.versions.get(name)) is not None and was != now]
    if changed:
        print(f"gatys-jax: versions differ from the run's ({', '.join(changed)}): the pixels "
              "may differ in their last bits", file=sys.stderr)
    content_masks, style_masks = recorded.sources("content mask"), recorded.sources("style mask")
    # masks the settings do not name were stylize's masks argument
    masks = (Masks(content_masks[0], style_masks)
             if content_masks and config.content_mask is None else None)
    return stylize_batch(recorded.sources("content")[0], recorded.sources("style"), config,
                         content_weights=recorded.content_weights, seeds=recorded.seeds,
                         output=output, metrics=new_metrics, on_update=on_update, vgg=vgg,
                         masks=masks)

