"""Jobs per minute of `gatys-jax sweep`: one process against several local processes sharing
the sweep through jax.distributed (a coordinator on 127.0.0.1, gloo collectives on CPU).

The job list: --jobs noise seeds of one pair at --size px, --iterations each, in one shape
group (so one compilation per process). Each mode runs the CLI in fresh processes into an empty
folder, --repeats times; reported: the median wall seconds from start to the last process's
exit (compile included, as a user waits for it) and jobs per minute. On one machine, several
processes share the same cores: the point is that the sharded run is correct and what it
costs, not a speed-up.

    python -m benchmarks.sweep --jobs 16 --size 128 --iterations 50 --processes 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab import host, script

CLI = [sys.executable, "-m", "gatys_jax.cli"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=16, help="jobs in the sweep (default 16)")
    p.add_argument("--size", type=int, default=128, help="long side in px (default 128)")
    p.add_argument("--iterations", type=int, default=50, help="per job (default 50)")
    p.add_argument("--processes", default="1,2", help="process counts to compare (default 1,2)")
    p.add_argument("--devices-per-process", type=int, default=1,
                   help="forced host devices per process on CPU (default 1)")
    p.add_argument("--repeats", type=int, default=3, help="runs per mode (default 3)")
    args = p.parse_args(argv)
    if min(args.jobs, args.size, args.iterations, args.repeats) < 1:
        p.error("--jobs, --size, --iterations and --repeats must be positive")
    try:
        args.processes = [int(n) for n in args.processes.split(",")]
    except ValueError:
        p.error(f"--processes must be comma-separated counts, got {args.processes!r}")
    return args


def write_jobs(path: Path, args) -> None:
    lines = [json.dumps({"content": script.CONTENT, "style": script.STYLE, "seed": seed,
                         "size": args.size, "iterations": args.iterations})
             for seed in range(args.jobs)]
    path.write_text("\n".join(lines) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_sweep(jobs: Path, out: Path, processes: int, devices: int) -> float:
    """Wall seconds of one sweep over `processes` local processes."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    cluster = []
    if processes > 1:
        cluster = ["--coordinator", f"127.0.0.1:{free_port()}", "--num-processes", str(processes)]
    start = time.perf_counter()
    running = [subprocess.Popen(CLI + ["sweep", str(jobs), "-o", str(out), "-q", *cluster,
                                       *(["--process-id", str(i)] if cluster else [])],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True) for i in range(processes)]
    for process in running:
        _, stderr = process.communicate()
        if process.returncode != 0:
            sys.exit(f"sweep with {processes} process(es) failed:\n{stderr[-2000:]}")
    seconds = time.perf_counter() - start
    written = (out / "results.jsonl").read_text().splitlines()
    if len(written) != len(jobs.read_text().splitlines()):
        sys.exit(f"sweep with {processes} process(es) recorded {len(written)} results")
    return seconds


def main(argv=None) -> None:
    args = parse_args(argv)
    print(host.machine())
    print(f"{args.jobs} jobs at {args.size} px, {args.iterations} iterations each, "
          f"{args.devices_per_process} device(s) per process, median of {args.repeats} "
          "(compile included)")
    print("| processes | devices | seconds | jobs per minute |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        jobs = Path(folder) / "jobs.jsonl"
        write_jobs(jobs, args)
        for processes in args.processes:
            times = []
            for repeat in range(args.repeats):
                out = Path(folder) / f"p{processes}_{repeat}"
                out.mkdir()
                times.append(run_sweep(jobs, out, processes, args.devices_per_process))
            seconds = statistics.median(times)
            print(f"| {processes} | {processes * args.devices_per_process} | {seconds:.1f} | "
                  f"{60 * args.jobs / seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
