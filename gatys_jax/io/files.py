"""Files: atomic writes, write checks before the work, checksums.

Every file the project writes appears whole or not at all: it is written to a temporary file
beside its destination and renamed onto it, with SIGINT/SIGTERM held back until the rename and
the clean-up are done, so that no temporary file is left behind.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from gatys_jax.errors import GatysError
from gatys_jax.io import interrupts

TEMPORARY_NAME_EXTRA = len("..12345678.tmp")  # what atomic_path adds to a file's name


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


def check_regular(path: str | Path, what: str) -> Path:
    """An input is an existing regular file (through symlinks): a FIFO or a device would
    block the reader or never end."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise GatysError(f"{what} {path} not found") from None
    except (OSError, ValueError) as e:  # a name too long, a NUL byte
        raise GatysError(f"cannot read {what} {str(path)!r}: "
                         f"{getattr(e, 'strerror', None) or e}") from None
    if not stat.S_ISREG(mode):
        raise GatysError(f"{what} {path} is not a regular file (a folder, FIFO or device): "
                         "give a file")
    return path


def _new_or_regular(path: Path, what: str) -> None:
    """A path to be written names a regular file (through symlinks) or nothing yet: never a
    folder, a device, a FIFO or a socket, which a rename would replace."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise GatysError(f"cannot write the {what} {path}: {_reason(e)}") from None
    if stat.S_ISDIR(mode):
        raise GatysError(f"cannot write the {what} {path}: it is a folder; name a file")
    if not stat.S_ISREG(mode):
        raise GatysError(f"cannot write the {what} {path}: it is not a regular file (a device, "
                         "FIFO or socket); name a file")


def check_writable(path: str | Path, what: str = "file") -> Path:
    """Fail early, before any work, when `path` cannot be written: its folder must exist and
    take a new file (tried for real: permissions alone say nothing to root or on /proc), and
    the path itself must be a regular file or a new name."""
    path = Path(path)
    folder = path.parent
    try:
        if not folder.is_dir():
            raise GatysError(f"cannot write the {what} {path}: folder {folder} does not exist")
    except OSError as e:
        raise GatysError(f"cannot write the {what} {path}: {_reason(e)}") from None
    _new_or_regular(path, what)
    try:
        atomic_path(path).unlink()
    except OSError as e:
        raise GatysError(f"cannot write the {what} {path}: {_reason(e)}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise GatysError(f"cannot write the {what} {path}: permission denied")
    return path


Labelled = tuple[str | Path, str]  # (a path, what it is: "output image", "weight file", ...)


def _identities(path: str | Path) -> set:
    """What names a file however it is reached: its resolved path (through symlinks and
    `..`) and, when it exists, its device and inode (through hard links)."""
    try:
        keys: set = {os.path.realpath(path)}
        status = os.stat(path)
        keys.add((status.st_dev, status.st_ino))
    except (OSError, ValueError):  # a missing file, a name too long, a NUL byte
        pass
    return keys


def check_outputs(writes: Sequence[Labelled], reads: Sequence[Labelled] = ()) -> None:
    """The one rule for what a command may write, checked before any work: every path it
    writes can be written (check_writable) and is neither a file it reads nor another of its
    outputs, through symlinks, hard links and `..`."""
    seen: dict = {}  # identity -> (path, what, whether it is written)
    for path, what in reads:
        for key in _identities(path):
            seen.setdefault(key, (path, what, False))
    for path, what in writes:
        check_writable(path, what)
        keys = _identities(path)
        for key in keys:
            if key in seen:
                other, other_what, written = seen[key]
                if written:
                    raise GatysError(f"the {what} {path} and the {other_what} {other} are one "
                                     "file: choose different paths")
                raise GatysError(f"the {what} {path} is the {other_what} {other}: choose "
                                 "another output path")
        seen.update({key: (path, what, True) for key in keys})


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
    return bool(_identities(a) & _identities(b))


def sha256_file(path: str | Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()
