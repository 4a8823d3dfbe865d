"""Joining a jax.distributed run of several processes, with a timeout and signals that work."""

from __future__ import annotations

import math
import sys
import threading

from gatys_jax.errors import GatysError

JOIN_GRACE_SECONDS = 60  # jax's own join deadline is this much later than --join-timeout
JOINS: list[threading.Thread] = []  # cluster joins started by this process


def check_cluster(coordinator: str, num_processes: int, process_id: int) -> None:
    host, _, port = coordinator.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")  # an IPv6 address
    valid_host = bool(host) and not any(c.isspace() for c in host) and (
        bracketed or ":" not in host)
    if not (valid_host and port.isdigit() and 0 < int(port) < 65536):
        raise GatysError(f"--coordinator {coordinator!r} is not HOST:PORT (e.g. "
                         "10.0.0.1:1234, [::1]:1234)")
    if num_processes < 1:
        raise GatysError(f"--num-processes must be at least 1, got {num_processes}")
    if not 0 <= process_id < num_processes:
        raise GatysError(f"--process-id must be in 0..{num_processes - 1}, got {process_id}")


def join_cluster(args) -> None:
    """Join a jax.distributed run of several processes, before anything touches devices.

    The join runs in a thread so that SIGINT and SIGTERM still stop the wait; past
    --join-timeout it is abandoned (the process then exits at once, see `entry`), as jax
    itself would abort the whole process instead of raising."""
    given = [args.coordinator, args.num_processes, args.process_id]
    if not args.cluster and all(value is None for value in given):
        return
    if not args.cluster and any(value is None for value in given):
        raise GatysError("--coordinator, --num-processes and --process-id go together "
                         "(or --cluster to detect them)")
    if args.cluster and any(value is not None for value in given):
        raise GatysError("--cluster detects the cluster's settings: give it alone, or "
                         "--coordinator, --num-processes and --process-id without it")
    if not args.cluster:
        check_cluster(*given)
    if not 0 < args.join_timeout < math.inf:
        raise GatysError(f"--join-timeout must be a positive number of seconds, got "
                         f"{args.join_timeout:g}")
    import jax
    failure: list[Exception] = []

    def join() -> None:
        try:
            jax.distributed.initialize(
                *(given if not args.cluster else ()),
                initialization_timeout=int(args.join_timeout) + JOIN_GRACE_SECONDS)
        except (RuntimeError, ValueError) as e:
            failure.append(e)

    print(f"gatys-jax: joining the cluster ({'detected' if args.cluster else args.coordinator})"
          " ...", file=sys.stderr, flush=True)
    joining = threading.Thread(target=join, name="gatys-jax cluster join", daemon=True)
    JOINS.append(joining)
    joining.start()
    joining.join(args.join_timeout)
    if joining.is_alive():
        raise GatysError(f"no answer from the cluster's coordinator within --join-timeout "
                         f"{args.join_timeout:g} s: check the address and that process 0 runs")
    if failure:
        raise GatysError(f"cannot join the cluster: {str(failure[0]).splitlines()[0]}")
