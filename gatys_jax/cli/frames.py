"""`gatys-jax frames FOLDER STYLE -o OUT_DIR`: the frames of a video, stylized."""

from __future__ import annotations

from pathlib import Path

from gatys_jax.cli.flags import add_config_arguments, config_from_args
from gatys_jax.config import StyleConfig
from gatys_jax.io.folders import made_folders, parents_of
from gatys_jax.progress_bar import Progress


def _frames(args) -> int:
    from gatys_jax import frames
    config, content_weights = config_from_args(args, StyleConfig(start_size=None))
    if content_weights:
        from gatys_jax.errors import GatysError
        raise GatysError("--content-weight takes one value for frames")
    progress = Progress(config.iterations, not args.quiet)
    try:
        with made_folders(parents_of(args.metrics)):
            done = frames.stylize_frames(args.folder, args.style, config, args.output,
                                         coherent=args.coherent, metrics=args.metrics,
                                         on_update=progress)
    finally:
        progress.close()
    measured = done.flicker
    print(f"wrote {len(done.outputs)} frame(s) to {args.output}"
          + (f": flicker {measured['flicker']:.2f} (stylized change "
             f"{measured['stylized_change']:.1f} grey levels a frame, the photographs' "
             f"{measured['photo_change']:.1f})" if measured.get("flicker") is not None else ""))
    interrupted = [r.interrupted for r in done.results if r.interrupted]
    return 128 + interrupted[0] if interrupted else 0


FRAMES_HELP = "stylize every frame of a folder (a video's frames, of one size)"
FRAMES_DESCRIPTION = """\
Each image of FOLDER (in name order) gets OUT_DIR/<its name>.png. By default every frame
runs in one batch, each from its own start; --coherent runs them one after another, each
starting from the previous frame's result, which flickers less. The flicker (the stylized
frames' mean change from one to the next over the photographs') is printed and kept in
--metrics. One scale by default (--start-size 0)."""


def add_frames(commands) -> None:
    """frames FOLDER STYLE -o OUT_DIR."""
    parser = commands.add_parser("frames", help=FRAMES_HELP,
                                 description=FRAMES_DESCRIPTION)
    parser.add_argument("folder", type=Path, help="folder of frames (png, jpg, ...)")
    parser.add_argument("style", help="style image: a file or a sample name")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="output folder (made if missing)")
    parser.add_argument("--coherent", action="store_true",
                        help="frame after frame, each from the previous result")
    parser.add_argument("--metrics", type=Path, help="write the flicker and every run as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(parser, StyleConfig(start_size=None))
    parser.set_defaults(run=_frames)
