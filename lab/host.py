"""The machine an experiment runs on: its CPU, cores, accelerator, versions and memory."""

from __future__ import annotations

import datetime
import os
import platform
import resource
from pathlib import Path

import jax


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> str:
    """The CPU, its cores and the accelerator JAX computes on, if any."""
    device = jax.devices()[0]
    accel = "" if device.platform == "cpu" else f", {device.device_kind} ({device.platform})"
    return f"{cpu_name()}, {cores()} cores{accel}"


def machine() -> str:
    """One line: date, host, hardware, JAX and (if importable) torch versions."""
    try:
        import torch
        torch_text = f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch_text = ""
    return (f"{datetime.datetime.now().isoformat(timespec='seconds')}, {platform.node()}, "
            f"{hardware()}; jax {jax.__version__} ({jax.default_backend()}){torch_text}")


def proc_status_mb(field: str) -> float | None:
    """VmRSS / VmHWM of this process from /proc/self/status, in MiB (None elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    hwm = proc_status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
