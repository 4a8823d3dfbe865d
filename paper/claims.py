"""The claims a figure makes, written before the numbers are seen, and their verdicts.

A claim is a dict

    {"id", "claim", "criterion", "measured": {...}, "summary": "short text",
     "supported": True | False | None, "needs_convergence": bool,
     "runs": [run labels or image ids it rests on] | None (all), "unconverged": [images]}

reported as measured: supported or not, or not judged (supported None) when an image it rests
on did not converge, since an unconverged image is evidence neither way (`judged`). A trend
across images (layers, lambdas) rests on those of its images that converged, when at least
MIN_TREND_POINTS did (`trend`).
"""

from __future__ import annotations

from typing import Sequence

RANK_CORRELATION = 0.8  # |Spearman rho| at least this counts as a trend
MIN_TREND_POINTS = 3  # a rank correlation or a monotone run over fewer images says nothing


def image_id(run: str, index: int) -> str:
    """How claims name an image: image `index` of run `run` (its label)."""
    return f"{run} #{index}"


def claim(id: str, text: str, criterion: str, measured: dict, summary: str,
          supported: bool, needs_convergence: bool = True,
          runs: Sequence[str] | None = None) -> dict:
    """A claim and its verdict, resting on the images of `runs` (run labels, or single images
    as image_id; None: every run of the experiment); one that does not rest on converged
    images (determinism, program structure) says so with needs_convergence=False."""
    return {"id": id, "claim": text, "criterion": criterion, "measured": measured,
            "summary": summary, "supported": bool(supported),
            "needs_convergence": needs_convergence,
            "runs": None if runs is None else list(runs), "unconverged": []}


def judged(claim: dict, unconverged: list[str]) -> dict:
    """The claim as reported: not judged (supported None) if it needs convergence and an image
    it rests on (an image_id in `unconverged`) did not converge."""
    if claim["runs"] is not None:
        unconverged = [u for u in unconverged
                       if u in claim["runs"] or u.rsplit(" #", 1)[0] in claim["runs"]]
    if not claim["needs_convergence"] or not unconverged:
        return claim
    return {**claim, "supported": None, "unconverged": unconverged,
            "summary": f"{claim['summary']} (not judged: {len(unconverged)} image(s) reached "
                       "the cap unconverged)"}


def trend(entries: Sequence[dict], unconverged: Sequence[str]
          ) -> tuple[list[dict], list[str], list[str]]:
    """The points of a trend (results entries, one per image, each with its "image_id") that
    may count: those whose images converged, or all of them when fewer than MIN_TREND_POINTS
    did (a claim resting on them is then not judged). Returns (entries, their image ids, the
    ids left out)."""
    kept = [e for e in entries if e["image_id"] not in unconverged]
    if len(kept) < MIN_TREND_POINTS:
        kept = list(entries)
    ids = [e["image_id"] for e in kept]
    return kept, ids, [e["image_id"] for e in entries if e["image_id"] not in ids]


def left_out(ids: Sequence[str]) -> str:
    """A claim summary's note of the images its trend left out ('' when none)."""
    return f" (without {', '.join(ids)}: unconverged at the cap)" if ids else ""


def strictly_decreasing(values: Sequence[float]) -> bool:
    return all(a > b for a, b in zip(values, values[1:]))


def strictly_increasing(values: Sequence[float]) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))
