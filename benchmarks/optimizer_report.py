"""benchmarks.optimizers' tables: per method over the seeds, the final loss and the
evaluations and seconds to the target (median [min, max]), and the loss after 1, 10, 50, ...
evaluations.
"""

from __future__ import annotations

import statistics

from . import common

CHECKPOINTS = (1, 10, 50, 100, 200, 300, 500, 1000)  # evaluations of the loss-by-evaluation table


def spread(values: list) -> tuple:
    """(median, min, max) of the values that are not None, or (None, None, None)."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def fmt_spread(triple, spec: str) -> str:
    """spread's triple as "median [min, max]"; "not reached" when it is empty."""
    median, low, high = triple
    if median is None:
        return "not reached"
    return f"{median:{spec}} [{low:{spec}}, {high:{spec}}]"


def summarize(methods, runs, targets, seeds) -> list[dict]:
    """One row per method over the seeds: evaluations made, final loss, evaluations and
    seconds to the seed's target (median, min, max), how many reached it, times."""
    rows = []
    for method in methods:
        mine = [runs[(method.key, seed)] for seed in seeds]
        reached = [common.first_reaching(r["history"], targets[seed])
                   for r, seed in zip(mine, seeds)]
        finals = [r["history"][-1]["total_loss"] for r in mine]
        rows.append({
            "method": method.key, "label": method.label, "runs": len(mine),
            "evaluations_min": min(r["evaluations"] for r in mine),
            "evaluations_max": max(r["evaluations"] for r in mine),
            **dict(zip(("final_loss_median", "final_loss_min", "final_loss_max"),
                       spread(finals))),
            **dict(zip(("evals_to_target_median", "evals_to_target_min", "evals_to_target_max"),
                       spread([e for e, _ in reached]))),
            **dict(zip(("seconds_to_target_median", "seconds_to_target_min",
                        "seconds_to_target_max"), spread([s for _, s in reached]))),
            "reached": sum(e is not None for e, _ in reached),
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in mine),
            "compile_seconds": max(r["compile_seconds"] for r in mine),
            "compile_kind": mine[0].get("compile_kind", "compile"),
        })
    return rows


def summary_table(summary: list[dict], n: int) -> str:
    """summarize's rows as Markdown, `n` the evaluations of every run."""
    columns = ["method", "final loss, median [min, max]", "evaluations made",
               "evaluations to target", "seconds to target", "reached", f"wall s ({n} evals)",
               "compile / warm-up s"]
    cells = []
    for s in summary:
        made = (str(s["evaluations_min"]) if s["evaluations_min"] == s["evaluations_max"]
                else f"{s['evaluations_min']}-{s['evaluations_max']}")
        triple = lambda name, s=s: tuple(s[f"{name}_{k}"] for k in ("median", "min", "max"))
        cells.append([s["label"], fmt_spread(triple("final_loss"), ".4g"), made,
                      fmt_spread(triple("evals_to_target"), ".0f"),
                      fmt_spread(triple("seconds_to_target"), ".1f"),
                      f"{s['reached']}/{s['runs']}", f"{s['wall_seconds_median']:.1f}",
                      f"{s['compile_seconds']:.1f} ({s['compile_kind']})"])
    return common.markdown_table(columns, "llrllrrr", cells)


def checkpoint_table(methods, runs, seeds, n: int) -> str:
    """Median over seeds of the loss after 1, 10, 50, ... evaluations (and after n)."""
    points = [c for c in CHECKPOINTS if c < n] + [n]
    cells = []
    for method in methods:
        medians = [statistics.median(common.loss_at(runs[(method.key, seed)]["history"], c)
                                     for seed in seeds) for c in points]
        cells.append([method.label, *(f"{v:.4g}" for v in medians)])
    return common.markdown_table(["method", *(f"{c} evals" for c in points)],
                                 "l" + "r" * len(points), cells)
