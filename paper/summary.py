"""The measured claims of all paper experiments as one Markdown table (results/claims.md).

Reads results/<experiment>/metrics.json as written by the other modules of this package.

    python -m paper.summary [--out results]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import common

ORDER = ("fig1_content", "fig1_style", "fig3", "fig4", "fig5", "init")


def table(out: Path) -> str:
    lines = ["| experiment | claim | measured | supported |", "| --- | --- | --- | --- |"]
    settings, seconds = [], 0.0
    for name in ORDER:
        path = out / name / "metrics.json"
        if not path.is_file():
            continue
        metrics = json.loads(path.read_text())
        s = metrics["settings"]
        settings.append(f"{name}: {s['size']} px, {s['iterations']} iterations, "
                        f"{metrics['wall_seconds']:.0f} s")
        seconds += metrics["wall_seconds"]
        for c in metrics["claims"]:
            summary = c["summary"].replace("|", "/")
            lines.append(f"| {name} | {c['claim']} | {summary} | "
                         f"{'yes' if c['supported'] else '**no**'} |")
    device = ""
    if settings:
        last = json.loads((out / next(n for n in reversed(ORDER)
                                      if (out / n / "metrics.json").is_file())
                           / "metrics.json").read_text())
        device = f" on {last['backend']} ({last['device']})"
    footer = ["", f"Runs{device}, {seconds / 60:.1f} min in all: " + "; ".join(settings) + "."]
    return "\n".join(lines + footer) + "\n"


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=common.RESULTS, help="results root")
    args, _ = p.parse_known_args(argv)
    text = table(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "claims.md").write_text(text)
    print(text, end="")
    return text


if __name__ == "__main__":
    main()
