"""`gatys-jax`: flags <-> StyleConfig, progress and messages; the work lives in the library.

Every failure the user can fix is one line on stderr and exit status 2; SIGINT and SIGTERM
exit with 128 + the signal number, keeping the latest image when they arrive mid-run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys

from gatys_jax.cli import commands, frames, info, replay
from gatys_jax.cli.cluster import JOINS
from gatys_jax.cli.flags import Parser, flag
from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.io import interrupts, paths


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gatys-jax",
        description="Neural style transfer after Gatys, Ecker & Bethge (CVPR 2016), in JAX.")
    parser.add_argument("--version", action="version",
                        version=f"gatys-jax {importlib.metadata.version('gatys-jax')}")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in (commands.add_stylize, commands.add_sweep, commands.add_demo,
                replay.add_replay, frames.add_frames, commands.add_score, commands.add_samples,
                commands.add_weights, info.add_info):
        add(subcommands)
    return parser


def enable_compilation_cache() -> None:
    """Keep compiled programs on disk so that a rerun with the same shapes skips compiling."""
    import jax
    jax.config.update("jax_compilation_cache_dir", str(paths.compilation_cache_dir()))


def error(message: str) -> int:
    print(f"gatys-jax: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    try:
        with interrupts.raising():
            args = build_parser().parse_args(argv)
            enable_compilation_cache()
            return args.run(args) or 0
    except ConfigError as e:
        return error(f"{flag(e.field)} {e.problem}")
    except GatysError as e:
        return error(str(e))
    except (RuntimeError, AssertionError) as e:
        failure = info.backend_failure(e)
        if failure is None:
            raise
        return error(str(failure))
    except interrupts.Interrupted as e:
        print(f"gatys-jax: interrupted ({e})", file=sys.stderr)
        return 128 + e.signum


def entry() -> None:
    """The console script: `main`, then exit. After an interrupt, or with a cluster join
    still waiting, the process ends at once, without tearing down the interpreter under
    threads XLA may still run (a compilation or a join in flight); every file is complete by
    then, as writes are atomic."""
    code = main()
    if code >= 128 or any(join.is_alive() for join in JOINS):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
