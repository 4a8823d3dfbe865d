"""`gatys-jax info`: what JAX runs on here (backend, devices and their memory), where compiled
programs are kept, and the versions that matter; as lines or as JSON."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import traceback
from pathlib import Path

from gatys_jax.errors import GatysError

PACKAGES = ("gatys-jax", "jax", "jaxlib", "flax", "optax", "numpy")
PLUGINS = ("jax-cuda12-plugin", "jax-cuda13-plugin", "libtpu")  # shown only when installed
# the variables that choose the devices and how JAX uses their memory and the cache
ENVIRONMENT = ("JAX_PLATFORMS", "CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE",
               "XLA_PYTHON_CLIENT_MEM_FRACTION", "XLA_PYTHON_CLIENT_ALLOCATOR", "XLA_FLAGS",
               "JAX_COMPILATION_CACHE_DIR", "JAX_ENABLE_COMPILATION_CACHE")


def host_memory() -> dict:
    """The host's memory in bytes: /proc/meminfo where there is one, else the physical
    pages (no figure for what is available then)."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        fields = {key: int(value.split()[0]) * 1024 for key, value in
                  (line.split(":", 1) for line in lines if ":" in line) if value.split()}
        return {"source": "host", "total_bytes": fields["MemTotal"],
                "available_bytes": fields.get("MemAvailable")}
    except (OSError, KeyError, ValueError):
        pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf, or no such name here
        total = None
    return {"source": "host", "total_bytes": total, "available_bytes": None}


def device_memory(device) -> dict:
    """A device's own memory as JAX reports it; the host's where it reports none (CPU)."""
    try:
        stats = device.memory_stats()
    except (NotImplementedError, RuntimeError):
        stats = None
    if not stats:
        return host_memory()
    return {"source": "device", "total_bytes": stats.get("bytes_limit"),
            "in_use_bytes": stats.get("bytes_in_use"),
            "peak_bytes": stats.get("peak_bytes_in_use")}


def compile_cache() -> dict:
    """The persistent compilation cache JAX uses in this process, and what it holds."""
    import jax
    folder = jax.config.jax_compilation_cache_dir
    enabled = bool(folder) and bool(jax.config.jax_enable_compilation_cache)
    files = sizes = 0
    if folder and Path(folder).is_dir():
        for path in Path(folder).rglob("*"):
            with contextlib.suppress(OSError):  # an entry another process just evicted
                if path.is_file():
                    files, sizes = files + 1, sizes + path.stat().st_size
    return {"folder": folder, "enabled": enabled, "files": files, "bytes": sizes,
            "min_compile_seconds": jax.config.jax_persistent_cache_min_compile_time_secs}


def versions() -> dict:
    found: dict = {}
    for name in PACKAGES + PLUGINS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            if name in PACKAGES:
                found[name] = None
    return {**found, "python": platform.python_version()}


def backend_failure(error: BaseException) -> GatysError | None:
    """The one-line error for JAX failing to start the backend JAX_PLATFORMS names (a
    RuntimeError, or an assertion in JAX's backend set-up when no plugin for it is
    installed); None for any other error."""
    message = str(error)
    if isinstance(error, RuntimeError) and message.startswith("Unable to initialize backend"):
        reason = message.splitlines()[0]
    elif isinstance(error, AssertionError) and error.__traceback__ is not None and any(
            frame.f_code.co_filename.endswith("xla_bridge.py")
            for frame, _ in traceback.walk_tb(error.__traceback__)):
        reason = "no plugin for it is installed"
    else:
        return None
    wanted = os.environ.get("JAX_PLATFORMS", "")
    return GatysError(f"JAX cannot start the backend (JAX_PLATFORMS={wanted!r}): {reason}; "
                      "install its extra (pip install -e '.[cuda12]', '.[cuda13]' or '.[tpu]') "
                      "or unset JAX_PLATFORMS")


def facts() -> dict:
    """Everything `info` reports, as plain values."""
    import jax
    backend, devices = jax.default_backend(), jax.devices()
    return {"backend": backend,
            "devices": [{"id": device.id, "kind": device.device_kind,
                         "platform": device.platform, "process": device.process_index,
                         "memory": device_memory(device)} for device in devices],
            "compile_cache": compile_cache(), "versions": versions(),
            "environment": {name: os.environ[name] for name in ENVIRONMENT
                            if name in os.environ}}


def _memory_text(memory: dict) -> str:
    from gatys_jax.engine.costs import human_bytes

    def size(key: str) -> str:
        return human_bytes(memory[key]) if memory.get(key) is not None else "unknown"

    if memory["source"] == "device":
        return f"{size('total_bytes')} device memory, {size('in_use_bytes')} in use"
    available = (f", {size('available_bytes')} available"
                 if memory.get("available_bytes") is not None else "")
    return f"host memory {size('total_bytes')}{available}"


def lines(found: dict) -> list[str]:
    """`info`'s report for people."""
    from gatys_jax.engine.costs import human_bytes
    text = [", ".join(f"{name} {version or 'not installed'}"
                      for name, version in found["versions"].items()),
            f"backend: {found['backend']}, {len(found['devices'])} device(s)"]
    text += [f"device {d['id']}: {d['kind']} (platform {d['platform']}, process {d['process']}), "
             f"{_memory_text(d['memory'])}" for d in found["devices"]]
    cache = found["compile_cache"]
    if cache["enabled"]:
        text.append(f"compile cache: {cache['folder']} ({cache['files']} files, "
                    f"{human_bytes(cache['bytes'])}; programs compiled in under "
                    f"{cache['min_compile_seconds']:g} s are not kept)")
    else:
        text.append("compile cache: off")
    text += [f"environment: {name}={value}" for name, value in found["environment"].items()]
    return text


def _info(args) -> int:
    found = facts()
    print(json.dumps(found, indent=2) if args.json else "\n".join(lines(found)))
    return 0


INFO_HELP = """\
what JAX runs on here: backend, devices and their memory, the compile cache, versions"""
INFO_DESCRIPTION = """\
The backend and devices JAX uses (set by JAX_PLATFORMS and CUDA_VISIBLE_DEVICES), each
device's memory (the host's for CPU devices), the folder of compiled programs, and the
versions of gatys-jax, JAX, Flax, optax, NumPy and Python."""


def add_info(commands) -> None:
    """info [--json]."""
    info_parser = commands.add_parser("info", help=INFO_HELP,
                                      description=INFO_DESCRIPTION)
    info_parser.add_argument("--json", action="store_true", help="print it as JSON")
    info_parser.set_defaults(run=_info)
