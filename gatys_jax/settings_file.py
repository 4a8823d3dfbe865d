"""Settings files: a StyleConfig as JSON or TOML (by the file's suffix), written and read back
exactly. TOML has no null, so a setting that is None is written as the text "none". A run's
metrics file (stylize --metrics) reads as the settings it records.

The file is parsed as data (json, tomllib) and every value goes through StyleConfig's own
validation: nothing read is executed, and a wrong key or value is a one-line error.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

from gatys_jax.config import StyleConfig
from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.io.files import check_regular, write_atomic

SUFFIXES = (".json", ".toml")
NONE = "none"  # TOML's stand-in for None
MAX_BYTES = 256 << 20  # a settings file is a few hundred bytes, a metrics file a few MB


def _suffix(path: Path, what: str = "settings file") -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise GatysError(f"{what} {path} must end in .json or .toml")
    return suffix


def write(config: StyleConfig, path: str | Path) -> Path:
    """Write `config` to `path` (.json or .toml), atomically."""
    import tomli_w

    path = Path(path)
    settings = config.to_json()
    if _suffix(path) == ".toml":
        text = tomli_w.dumps({k: NONE if v is None else v for k, v in settings.items()})
    else:
        text = json.dumps(settings, indent=1) + "\n"
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def table_of(path: str | Path, what: str = "settings file") -> dict:
    """The table a .json or .toml file holds, parsed as data (at most MAX_BYTES); a one-line
    GatysError naming the file as `what` when it cannot be read or holds something else."""
    path = Path(path)
    suffix = _suffix(path, what)
    check_regular(path, what)
    if path.stat().st_size > MAX_BYTES:
        raise GatysError(f"{what} {path} is over {MAX_BYTES >> 20} MiB")
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise GatysError(f"cannot read {what} {path}: {e}") from None
    if not isinstance(data, dict):
        raise GatysError(f"{what} {path} must hold a table")
    return data


def config_of(settings: dict, where: str) -> StyleConfig:
    """StyleConfig(**settings); what is wrong with them as a one-line GatysError after
    `where`."""
    try:
        return StyleConfig(**settings)
    except (ConfigError, TypeError, ValueError) as e:  # TypeError, ValueError: a value of a
        raise GatysError(f"{where}: {e}") from None  # shape no validation expects


def settings_of(path: str | Path) -> dict:
    """The settings a file holds, as StyleConfig keyword arguments (not yet validated)."""
    path = Path(path)
    data = table_of(path)
    if isinstance(data.get("settings"), dict) and isinstance(data.get("record"), dict):
        data = data["settings"]  # a run's metrics file
    if path.suffix.lower() == ".toml":
        data = {k: None if v == NONE else v for k, v in data.items()}
    fields = {field.name for field in dataclasses.fields(StyleConfig)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise GatysError(f"settings file {path}: unknown setting {unknown[0]!r}")
    return data


def read(path: str | Path, **overrides) -> StyleConfig:
    """The StyleConfig a settings file holds, with `overrides` applied."""
    return config_of({**settings_of(path), **overrides}, f"settings file {path}")
