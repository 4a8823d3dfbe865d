"""An experiment script's command line (the StyleConfig flags, --content, --style, --docs) and
its report in docs/."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Sequence

from gatys_jax.cli import flags
from gatys_jax.config import StyleConfig
from gatys_jax.errors import ConfigError, GatysError
from gatys_jax.io import inputs

ROOT = Path(__file__).resolve().parents[1]
CONTENT, STYLE = "chelsea", "starry_night"  # sample images (gatys-jax samples)


def parser(doc: str, defaults: StyleConfig, skip: Sequence[str], images: bool = True
           ) -> argparse.ArgumentParser:
    """A benchmark's parser: the first paragraph of its docstring as the description,
    --content and --style (unless not `images`: a file or a sample name each), and the flags
    of the StyleConfig fields not in `skip`, with `defaults` shown."""
    p = flags.Parser(description=doc.split("\n\n")[0],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if images:
        p.add_argument("--content", default=CONTENT,
                       help=f"content image: a file or a sample name (default {CONTENT})")
        p.add_argument("--style", default=STYLE,
                       help=f"style image: a file or a sample name (default {STYLE})")
    flags.add_config_arguments(p, defaults, skip)
    return p


def parse(p: argparse.ArgumentParser, argv, defaults: StyleConfig
          ) -> tuple[argparse.Namespace, StyleConfig]:
    """The flags and the StyleConfig they make of `defaults`. A bad setting, a missing image
    (--content, --style) or weight file is a one-line parser error, before any work."""
    args = p.parse_args(argv)
    try:
        config, content_weights = flags.config_from_args(args, defaults)
    except ConfigError as e:
        p.error(f"{flags.flag(e.field)} {e.problem}")
    if content_weights:
        p.error("--content-weight takes one value here")
    for name in ("content", "style"):
        try:
            if hasattr(args, name):
                inputs.shape_of(getattr(args, name), config.max_megapixels)
        except GatysError as e:
            p.error(f"--{name}: {e}")
    if isinstance(config.weights, (str, Path)) and not Path(config.weights).is_file():
        p.error(f"--weights {config.weights}: no such file")
    return args, config


def add_docs_arguments(parser: argparse.ArgumentParser, default: Path) -> None:
    """--docs PATH (default `default`) and --no-docs: where a benchmark copies its report."""
    parser.add_argument("--docs", default=str(default),
                        help=f"Markdown report for the docs (default {default.relative_to(ROOT)})")
    parser.add_argument("--no-docs", action="store_true", help="do not write --docs")


def command_line(module: str, argv) -> str:
    """How a benchmark was run, for its report: `python -m MODULE ARGS`."""
    return f"python -m {module} " + shlex.join(argv if argv is not None else sys.argv[1:])


def write_docs(args, title: str, module: str, body: str) -> Path | None:
    """Write `body` under `title` to args.docs (unless args.no_docs), saying which module wrote
    it; returns the path written."""
    if args.no_docs:
        return None
    docs = Path(args.docs)
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(f"# {title}\n\nWritten by `python -m {module}` (the latest run; see its "
                    f"docstring for what is measured and how).\n\n{body}\n")
    return docs
