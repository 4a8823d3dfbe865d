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


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise GatysError(f"settings file {path} must end in .json or .toml")
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


def settings_of(path: str | Path) -> dict:
    """The settings a file holds, as StyleConfig keyword arguments (not yet validated)."""
    path = Path(path)
    suffix = _suffix(path)
    check_regular(path, "settings file")
    if path.stat().st_size > MAX_BYTES:
        raise GatysError(f"settings file {path} is over {MAX_BYTES >> 20} MiB")
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise GatysError(f"cannot read settings file {path}: {e}") from None
    if not isinstance(data, dict):
        raise GatysError(f"settings file {path} must hold a table of settings")
    if isinstance(data.get("settings"), dict) and isinstance(data.get("record"), dict):
        data = data["settings"]  # a run's metrics file
    if suffix == ".toml":
        data = {k: None if v == NONE else v for k, v in data.items()}
    fields = {field.name for field in dataclasses.fields(StyleConfig)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise GatysError(f"settings file {path}: unknown setting {unknown[0]!r}")
    return data


def read(path: str | Path, **overrides) -> StyleConfig:
    """The StyleConfig a settings file holds, with `overrides` applied."""
    try:
        return StyleConfig(**{**settings_of(path), **overrides})
    except ConfigError as e:
        raise GatysError(f"settings file {path}: {e}") from None
    except (TypeError, ValueError) as e:  # a value of a shape no validation expects
        raise GatysError(f"settings file {path}: {e}") from None
