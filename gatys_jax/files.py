"""Files: atomic writes, write checks before the work, checksums.

Every file the project writes appears whole or not at all: it is written to a temporary file
beside its destination and renamed onto it, with SIGINT/SIGTERM held back until the rename and
the clean-up are done, so that no temporary file is left behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable

from . import interrupts
from .errors import GatysError


def atomic_path(path: Path) -> Path:
    """A new temporary file beside `path` with the mode a new file gets; the caller renames it
    onto `path` when complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
    return Path(tmp)


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def check_writable(path: str | Path) -> Path:
    """Fail early, before any work, when `path` cannot be written: its folder must exist and
    take a new file (tried for real: permissions alone say nothing to root or on /proc), and
    the path itself must not be a folder."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise GatysError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise GatysError(f"cannot write {path}: it is a folder; name a file")
    try:
        atomic_path(path).unlink()
    except OSError as e:
        raise GatysError(f"cannot write {path}: {_reason(e)}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise GatysError(f"cannot write {path}: permission denied")
    return path


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call write(temporary path), then rename the temporary file onto `path`. Any OSError
    becomes a one-line GatysError and removes the temporary file."""
    path = Path(path)
    with interrupts.deferred():
        try:
            tmp = atomic_path(path)
        except OSError as e:
            raise GatysError(f"cannot write {path}: {_reason(e)}") from None
        try:
            write(tmp)
            os.replace(tmp, path)
        except OSError as e:
            raise GatysError(f"cannot write {path}: {_reason(e)}") from None
        finally:
            tmp.unlink(missing_ok=True)
    return path


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: the same resolved path, or (both existing) the same
    inode through a hard link."""
    a, b = Path(a), Path(b)
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def sha256_file(path: str | Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()
