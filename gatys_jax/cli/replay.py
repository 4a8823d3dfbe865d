"""`gatys-jax replay METRICS -o OUT`: run again the run a metrics file records."""

from __future__ import annotations

from pathlib import Path

from gatys_jax.io.folders import made_folders, parents_of
from gatys_jax.progress_bar import Progress


def _replay(args) -> int:
    from gatys_jax import replay
    recorded = replay.Recorded(args.metrics_file)
    progress = Progress(recorded.config().iterations, not args.quiet)
    try:
        with made_folders(parents_of(args.output, args.metrics)):
            result = replay.replay(recorded, args.output, new_metrics=args.metrics,
                                   on_update=progress)
    finally:
        progress.close()
    print(f"replayed {len(result.images)} image(s) of {args.metrics_file}: total loss "
          + ", ".join(f"{entry.losses['total_loss']:.6g}" for entry in result.images))
    return 128 + result.interrupted if result.interrupted else 0


REPLAY_HELP = """\
run again the run a --metrics file records (same settings, inputs, lambdas and seeds): on
the same machine and versions, the same pixels"""
REPLAY_DESCRIPTION = """\
Reads the run's settings and record from METRICS, checks that every input and the weights
are the ones the run read (sha256 of their pixels and data), and runs it again. Images are
named as the run named them."""


def add_replay(commands) -> None:
    """replay METRICS -o OUT."""
    parser = commands.add_parser("replay", help=REPLAY_HELP,
                                 description=REPLAY_DESCRIPTION)
    parser.add_argument("metrics_file", type=Path, metavar="METRICS",
                        help="a metrics file written by stylize --metrics")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="output image (several images: OUT_<what varies>.png)")
    parser.add_argument("--metrics", type=Path, help="write the replay's own metrics here")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_replay)
