"""The quality panel: the project's settings against the classic PyTorch recipe, on every pair
of benchmarks.panel.PANEL, by the yardstick of gatys_jax.quality.

For each pair: the classic recipe (benchmarks.panel: plain Caffe VGG19, lambda 1e-3,
torch.optim.LBFGS, 300 evaluations from N(0, 1) in network units; run once and kept) and
gatys_jax.stylize with the settings given (the library's defaults unless flags say otherwise;
kept in --out/ours/, and with --reuse read from there when the settings are the same).
Targets, per pair: style distance at or below the classic recipe's, content distance at most
1.2x its, speckle at most 1.5x the larger of the content's and the style's own. Reported: the
three numbers of both, the targets met, the wall seconds of both (compile and warm-up apart)
and their ratio (ours / classic), median and worst over the panel. Writes --out (default
results/quality): quality.csv and sheet.jpg (photo, painting, classic, ours per pair); and,
unless --no-docs, the table to docs/quality_<size>.md and the sheet to
docs/quality_<size>.jpg (under 300 KB), beside the hand-written overview docs/quality.md.

    python -m benchmarks.quality --size 256
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
from pathlib import Path

import numpy as np

import gatys_jax
from gatys_jax.config import StyleConfig
from gatys_jax.errors import GatysError
from gatys_jax.io import images
from lab import experiment, host, script

from . import common, panel

STYLE_SLACK, CONTENT_SLACK, SPECKLE_SLACK = 1.0, 1.2, 1.5
SHEET_BYTES = 300_000
SIZE = "<size>"  # in the default report paths: one report per image size


def parse_args(argv=None):
    p = script.parser(__doc__, StyleConfig(), skip=(), images=False)
    p.add_argument("--pairs", default="all", help="all, or photo+painting,... (default all)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--reuse", action="store_true",
                   help="reuse gatys-jax's result of a pair from --out/ours/ when a run with the "
                        "same settings left one there (the classic recipe's is always reused)")
    p.add_argument("--out", default=str(common.RESULTS / "quality"),
                   help="output folder (default results/quality)")
    p.add_argument("--sheet", default=str(script.ROOT / "docs" / f"quality_{SIZE}.jpg"),
                   help=f"contact sheet for the docs (default docs/quality_{SIZE}.jpg)")
    script.add_docs_arguments(p, script.ROOT / "docs" / f"quality_{SIZE}.md")
    args, config = script.parse(p, argv, StyleConfig())
    args.docs, args.sheet = (path.replace(SIZE, str(config.size))
                             for path in (args.docs, args.sheet))
    try:
        args.pairs = panel.parse_pairs(args.pairs)
    except ValueError as e:
        p.error(str(e))
    return args, config


def speckle_limit(references: dict) -> float:
    """The speckle target: SPECKLE_SLACK x the larger of the content's and the style's own."""
    return SPECKLE_SLACK * max(references["content_image"]["speckle"],
                               references["style_image"]["speckle"])


def targets_met(ours: dict, classic: dict, references: dict) -> dict:
    return {"style": ours["style_distance"] <= STYLE_SLACK * classic["style_distance"],
            "content": ours["content_distance"] <= CONTENT_SLACK * classic["content_distance"],
            "speckle": ours["speckle"] <= speckle_limit(references)}


def ours_run(pair, config: StyleConfig, out: Path, reuse: bool) -> dict:
    """gatys_jax.stylize on one pair: {quality, seconds, compile, evaluations, references (the
    yardstick of the photo and the painting), settings, image}, kept in out/ours/ under the
    pair, the size and a hash of the settings; with `reuse`, read from there when a run with
    the same settings left it."""
    settings = config.to_json()
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    stem = f"{panel.pair_name(pair)}_{config.size}px_{key}"
    record, picture = out / "ours" / f"{stem}.json", out / "ours" / f"{stem}.png"
    if reuse and record.is_file() and picture.is_file():
        return {**json.loads(record.read_text()), "image": np.asarray(images.load(picture))}
    result = experiment.completed(gatys_jax.stylize(pair[0], pair[1], config))
    ours = result.images[0]
    kept = {"quality": ours.quality, "seconds": result.wall_seconds,
            "compile": result.compile_seconds, "evaluations": ours.evaluations,
            "references": result.references[pair[1]], "settings": settings}
    record.parent.mkdir(parents=True, exist_ok=True)
    images.save(ours.image, picture)
    record.write_text(json.dumps(kept))
    return {**kept, "image": ours.image}


def run_pair(pair, config: StyleConfig, args) -> dict:
    classic = panel.classic_run(pair, config.size, threads=args.threads)
    ours = ours_run(pair, config, Path(args.out), args.reuse)
    references = ours["references"]
    return {"pair": panel.pair_name(pair), "classic": classic["quality"],
            "classic_seconds": classic["seconds"], "ours": ours["quality"],
            "ours_seconds": ours["seconds"], "ours_compile": ours["compile"],
            "ours_evaluations": ours["evaluations"], "references": references,
            "met": targets_met(ours["quality"], classic["quality"], references),
            "images": [*panel.prepared(pair, config.size), classic["image"], ours["image"]]}


def table(rows: list[dict]) -> str:
    columns = ["pair", "style distance: classic / ours", "content distance: classic / ours",
               "speckle: classic / ours (limit)", "targets met", "seconds: classic / ours (ratio)"]
    cells = []
    for r in rows:
        c, o = r["classic"], r["ours"]
        cells.append([
            r["pair"], f"{c['style_distance']:.3f} / {o['style_distance']:.3f}",
            f"{c['content_distance']:.3f} / {o['content_distance']:.3f}",
            f"{c['speckle']:.0f} / {o['speckle']:.0f} ({speckle_limit(r['references']):.0f})",
            ", ".join(name for name, ok in r["met"].items() if ok) or "none",
            f"{r['classic_seconds']:.0f} / {r['ours_seconds']:.0f} "
            f"({r['ours_seconds'] / r['classic_seconds']:.2f})"])
    return common.markdown_table(columns, "llllll", cells)


def summary(rows: list[dict]) -> list[str]:
    """Median and worst over the panel of ours / classic per measure."""
    out = []
    for key, label in (("style_distance", "style distance"),
                       ("content_distance", "content distance"), ("speckle", "speckle")):
        ratios = [r["ours"][key] / r["classic"][key] for r in rows]
        out.append(f"- {label}, ours / classic: median {statistics.median(ratios):.2f}, worst "
                   f"{max(ratios):.2f}")
    times = [r["ours_seconds"] / r["classic_seconds"] for r in rows]
    out.append(f"- wall time, ours / classic (compile and warm-up apart): median "
               f"{statistics.median(times):.2f}, worst {max(times):.2f}")
    met = sum(all(r["met"].values()) for r in rows)
    out.append(f"- pairs meeting all three targets: {met}/{len(rows)}")
    return out


def main(argv=None) -> int:
    args, config = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"quality panel: {len(args.pairs)} pairs at {config.size} px\n{host.machine()}",
          flush=True)
    rows = []
    for pair in args.pairs:
        try:
            rows.append(run_pair(pair, config, args))
        except GatysError as e:
            print(f"error: {panel.pair_name(pair)}: {e}", file=sys.stderr)
            return 2
        r = rows[-1]
        print(f"  {r['pair']}: classic {r['classic']}, ours {r['ours']}, met {r['met']}, "
              f"{r['classic_seconds']:.0f} s / {r['ours_seconds']:.0f} s", flush=True)
    common.write_csv(out / "quality.csv", [
        {"pair": r["pair"], **{f"classic_{k}": v for k, v in r["classic"].items()},
         **{f"ours_{k}": v for k, v in r["ours"].items()}, "classic_seconds": r["classic_seconds"],
         "ours_seconds": r["ours_seconds"], "ours_evaluations": r["ours_evaluations"],
         **{f"met_{k}": v for k, v in r["met"].items()}} for r in rows])
    sheet = panel.contact_sheet(out / "sheet.jpg", [r["images"] for r in rows],
                                [r["pair"] for r in rows],
                                ["photograph", "painting", "classic recipe", "gatys-jax"],
                                SHEET_BYTES)
    command = script.command_line("benchmarks.quality", argv)
    settings = ", ".join(f"{k}={v}" for k, v in config.to_json().items()
                         if v != StyleConfig().to_json().get(k))
    report = "\n".join([
        f"## {len(rows)} pairs at {config.size} px", "", host.machine() + ".", "",
        f"gatys-jax: the library's defaults{'; ' + settings if settings else ''}. Classic "
        "recipe: plain Caffe VGG19, lambda 1e-3, torch.optim.LBFGS, 300 evaluations from "
        "N(0, 1) in network units. Targets: style distance <= classic, content distance <= "
        f"{CONTENT_SLACK}x classic, speckle <= {SPECKLE_SLACK}x max(content's, style's).", "",
        table(rows), "", *summary(rows), "", f"![contact sheet]({Path(args.sheet).name})"])
    print("\n" + report)
    docs = script.write_docs(args, "Quality: gatys-jax against the classic recipe",
                             "benchmarks.quality", f"`{command}`\n\n{report}")
    if docs:
        Path(args.sheet).write_bytes(sheet.read_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
