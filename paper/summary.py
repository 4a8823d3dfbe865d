"""The measured claims of all paper experiments as one Markdown table (results/claims.md) and,
with --docs, the gallery: docs/paper.md (per experiment what it shows, its figure, its claims
and how it was run) and one JPEG figure per experiment under docs/paper/ (each at most
200 KB). Only the part of docs/paper.md between the BEGIN and END lines is rewritten, and in
it only the sections of the experiments found under the results root: the sections of the
others stay as an earlier run wrote them, so a gallery whose experiments ran on different
days (or machines) is filled in one experiment at a time. The text around the part is written
by hand and kept.

Reads results/<experiment>/metrics.json as written by the other modules of this package.

    python -m paper.summary [--out results] [--docs [DIR]]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

import numpy as np

from gatys_jax.config import noise_sd
from gatys_jax.errors import GatysError
from gatys_jax.io import images
from gatys_jax.io.images import to_uint8
from lab.figures import save_jpeg

from . import fig1_content, fig1_style, fig2, fig3, fig4, fig5, normalization, sample, start
from .claims import MIN_TREND_POINTS
from .settings import FULL_SIZE, QUICK_SIZE, RESULTS, ROOT, STOP_PIXELS, STOP_TOLERANCE, STOP_WINDOW

# the experiments' scripts, in the order of the table and the gallery
SCRIPTS = (fig1_content, fig1_style, fig2, fig3, fig4, fig5, start, sample, normalization)
ORDER = tuple(script.NAME for script in SCRIPTS)  # their experiments: results/<name>/
SCRIPT_OF = dict(zip(ORDER, SCRIPTS))
FIGURE_BYTES = 200_000
DOCS = ROOT / "docs"
VERDICTS = {True: "yes", False: "**no**", None: "not judged (unconverged)"}
BEGIN = "<!-- written by python -m paper.summary --docs: edit around it, not inside -->"
END = "<!-- end of the part written by python -m paper.summary --docs -->"
# one experiment's section inside the part: kept until that experiment's results are rewritten
SECTION = re.compile(r"<!-- experiment (\w+) -->\n.*?<!-- end of experiment \1 -->", re.S)


def experiments(out: Path) -> list[dict]:
    """The metrics of every experiment that ran, in ORDER."""
    return [json.loads((out / name / "metrics.json").read_text()) for name in ORDER
            if (out / name / "metrics.json").is_file()]


def run_line(metrics: dict) -> str:
    """How one experiment ran: size, start, convergence of its images, evaluations, their
    grain (lab.measures.grain), time, machine and date."""
    s = metrics["settings"]
    taken = [i for i in metrics.get("images", []) if i["converged"] is not None]
    start = (f"noise, sd {noise_sd(s['noise_scale']):.2g} grey levels"
             if s["init"] == "noise" else f"the {s['init']} image")
    text = f"{metrics['experiment']}: {s['size']} px, start: {start}"
    if taken:
        converged = sum(i["converged"] for i in taken)
        evaluations = [i["evaluations"] for i in taken]
        text += (f", {converged}/{len(taken)} images converged (cap {s['iterations']} "
                 f"iterations; evaluations median {statistics.median(evaluations):.0f}, "
                 f"max {max(evaluations)})")
    grains = [i for i in metrics.get("images", []) if "speckle" in i]
    if grains:
        speckles, clipped = ([i[key] for i in grains] for key in ("speckle", "clipped"))
        text += (f"; grain: speckle median {statistics.median(speckles):.0f}, max "
                 f"{max(speckles):.0f} (the photo's {metrics['photo_grain']['speckle']:.0f}), "
                 f"colour channels at 0 or 255 median {statistics.median(clipped):.1%}, max "
                 f"{max(clipped):.1%}")
    ratios = [i["saved_loss_ratio"] for i in metrics.get("images", [])
              if i.get("saved_loss_ratio") is not None]
    if ratios:
        text += (f"; total loss of the pictures as saved (8 bits, clipped to 0..255) median "
                 f"{statistics.median(ratios):.3g}x, max {max(ratios):.3g}x the optimizer's")
    runs = metrics.get("runs", [])
    seconds = (f"{sum(r['wall_seconds'] for r in runs) / 60:.1f} min optimizing (compiling "
               "apart)" if runs else f"{metrics['wall_seconds']:.0f} s")
    return text + f", {seconds} on {metrics['machine']}, {metrics['date']}"


def table(metrics_list: list[dict]) -> str:
    lines = ["| experiment | claim | measured | supported |", "| --- | --- | --- | --- |"]
    for metrics in metrics_list:
        for c in metrics["claims"]:
            summary = c["summary"].replace("|", "/")
            lines.append(f"| {metrics['experiment']} | {c['claim']} | {summary} | "
                         f"{VERDICTS[c['supported']]} |")
    return "\n".join(lines + ["", *[f"- {run_line(m)}" for m in metrics_list]]) + "\n"


def gallery_figure(grid: Path, path: Path) -> Path:
    """The experiment's grid as a JPEG of at most FIGURE_BYTES, shrunk until it fits."""
    image = np.asarray(images.load(grid), np.float32)
    while True:
        try:
            save_jpeg(to_uint8(image), path, FIGURE_BYTES)
            return path
        except GatysError:
            height, width = image.shape[:2]
            image = images.resize(image, int(height * 0.8), int(width * 0.8))


def section(name: str, body: str) -> str:
    """Experiment `name`'s section of the generated part, between the lines SECTION finds."""
    return (f"<!-- experiment {name} -->\n### {name}\n\n{body.strip()}\n\n"
            f"<!-- end of experiment {name} -->")


def measured_section(metrics: dict, out: Path, docs: Path) -> str:
    """One experiment's section: what it shows, its figure (written under docs/paper/), its
    claims and how it ran."""
    name = metrics["experiment"]
    figure = gallery_figure(out / name / metrics["grid"], docs / "paper" / f"{name}.jpg")
    shows = SCRIPT_OF[name].__doc__.split("\n\n")[0].replace("\n", " ")
    return section(name, f"{shows}\n\n![{name}](paper/{figure.name})\n\n{table([metrics])}")


def pending_section(name: str) -> str:
    """Experiment `name`'s section before it has run: how to run it."""
    return section(name, f"Not yet run to convergence: `python -m {SCRIPT_OF[name].__name__} "
                         "--quick`, then `python -m paper.summary --docs`.")


def generated_part(metrics_list: list[dict], out: Path, docs: Path, old: str = "") -> str:
    """The part between the BEGIN and END lines: the rule, then one section per experiment in
    ORDER, rewritten from `metrics_list` or else kept from the `old` page."""
    (docs / "paper").mkdir(parents=True, exist_ok=True)
    sections = {m.group(1): m.group(0) for m in SECTION.finditer(old)}
    sections.update((m["experiment"], measured_section(m, out, docs)) for m in metrics_list)
    lines = [BEGIN, "",
             "Written by `python -m paper.summary --docs` from the runs of "
             "`bash scripts/reproduce_paper.sh` (every experiment, each image to convergence: "
             f"its total loss changes by less than {STOP_TOLERANCE:.1%}, or its "
             f"picture by less than {STOP_PIXELS:g} grey levels (RMS), over "
             f"{STOP_WINDOW} evaluations, or the experiment's cap; add `--quick` for "
             f"{QUICK_SIZE} px instead of the paper's {FULL_SIZE}). A trend across "
             "images rests on those that converged when at least "
             f"{MIN_TREND_POINTS} did; any other claim that rests on an image that "
             "reached the cap unconverged is not judged. Each section says when, where and "
             "how long its experiment ran.", "",
             "## Claims and figures", ""]
    for name in ORDER:
        lines += [sections.get(name) or pending_section(name), ""]
    return "\n".join(lines + [END]) + "\n"


def docs_page(old: str | None, generated: str) -> str:
    """docs/paper.md: `old` with its generated part replaced, or a new page around it."""
    if old is None or BEGIN not in old or END not in old:
        return "# The paper's experiments\n\n" + generated
    before, rest = old.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return before + generated.rstrip("\n") + after


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS, help="results root")
    p.add_argument("--docs", type=Path, nargs="?", const=DOCS, default=None, metavar="DIR",
                   help="also write DIR/paper.md and the figures under DIR/paper/ (DIR: "
                        "docs/ when not given)")
    args, _ = p.parse_known_args(argv)
    metrics_list = experiments(args.out)
    text = table(metrics_list)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "claims.md").write_text(text)
    if args.docs:
        page = args.docs / "paper.md"
        old = page.read_text() if page.is_file() else None
        generated = generated_part(metrics_list, args.out, args.docs, old or "")
        page.write_text(docs_page(old, generated))
    print(text, end="")
    return text


if __name__ == "__main__":
    main()
