"""Output folders made on demand: a command makes the folders its outputs name, and takes
back the ones it made when it fails, so that bad input leaves nothing behind."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable, Iterator

from gatys_jax.errors import GatysError


def _blocker(folder: Path) -> Path | None:
    """The file (not a folder) standing where `folder` or one of its parents should be."""
    for path in (folder, *folder.parents):
        try:
            if path.exists() and not path.is_dir():
                return path
        except OSError:
            return None
    return None


def make_folder(folder: Path) -> list[Path]:
    """Make `folder` and its missing parents; returns the folders made, outermost first.
    A file in the way, or a folder that cannot be made, is a one-line GatysError."""
    folder = Path(folder)
    try:
        missing = [path for path in (folder, *folder.parents) if not path.exists()]
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        blocker = _blocker(folder)
        reason = (f"{blocker} exists and is not a folder" if blocker is not None
                  else e.strerror or str(e))
        raise GatysError(f"cannot make folder {folder}: {reason}") from None
    return missing[::-1]


@contextlib.contextmanager
def made_folders(folders: Iterable[Path]) -> Iterator[None]:
    """Make every folder in `folders` (with parents) for the body; when the body fails, remove
    those of them it left empty, innermost first."""
    made: list[Path] = []
    try:
        for folder in folders:
            made.extend(make_folder(folder))
        yield
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):  # not empty: it holds what the run kept
                folder.rmdir()
        raise


def parents_of(*paths: Path | None) -> list[Path]:
    """The folders of the files named (None: not asked for)."""
    return [Path(path).parent for path in paths if path is not None]
