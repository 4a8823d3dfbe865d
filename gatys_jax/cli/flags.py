"""Flags: one per StyleConfig field, generated from its metadata, and the parsers of the run
flags the commands share (also used by the benchmark and paper scripts)."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError

CONFIRM_IMAGES = 64  # a batch run of more images prints its plan and needs --yes


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def display(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "''"
    return format(value, "g") if isinstance(value, float) else str(value)


def flag_type(field: dataclasses.Field):
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


def config_field(name: str) -> dataclasses.Field:
    return next(field for field in dataclasses.fields(StyleConfig) if field.name == name)


def add_config_arguments(parser: argparse.ArgumentParser, defaults: StyleConfig,
                         skip: tuple[str, ...] = ()) -> None:
    """One flag per StyleConfig field (--content-weight for content_weight, ...), help from
    the field, the default shown from `defaults` (once: a field whose help says what its
    unset value means shows no "none"). A flag not given leaves no attribute, so that
    `config_from_args` keeps the default; --config FILE gives other defaults."""
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="start from the settings in FILE (.json or .toml, as "
                             "gatys_jax.settings_file writes them, or a run's --metrics file); "
                             "the flags given override them")
    for field in dataclasses.fields(StyleConfig):
        if field.name in skip:
            continue
        value, text = getattr(defaults, field.name), field.metadata["help"]
        if value is not None or "default" not in text:
            text += f" (default: {display(value)})"
        parser.add_argument(flag(field.name), dest=field.name, type=flag_type(field),
                            metavar=field.metadata["metavar"], default=argparse.SUPPRESS,
                            help=text)


def config_from_args(args: argparse.Namespace, defaults: StyleConfig
                     ) -> tuple[StyleConfig, tuple[float, ...] | None]:
    """(config, the content weights of a batch or None) from the flags given, over the
    settings of --config FILE if given, else over `defaults`."""
    if getattr(args, "config", None) is not None:
        if getattr(args, "paper", False):
            raise GatysError("--paper and --config both give the settings to start from: "
                             "give one")
        from gatys_jax import settings_file
        defaults = settings_file.read(args.config)
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


def add_run_arguments(parser, defaults: StyleConfig) -> None:
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


def add_cluster_arguments(parser) -> None:
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
