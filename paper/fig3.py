"""Figure 3: one photograph rendered in the styles of several paintings at lambda = alpha/beta
= 1e-3 and 1e-4; each painting's two lambdas are one stylize_batch call (one compiled,
vmapped program; with --batching off, the default on a CPU, a run each), and each painting is
a run of its own, saved when it finishes.

Claims: each result keeps the photo's content and takes the painting's style (its content loss
is far below the painting's own, its style loss far below the photo's own); the smaller lambda
puts more emphasis on style (lower style loss, higher content loss).

    python -m paper.fig3 [--quick] [--size PX] [--iterations CAP] [--styles shipwreck,starry_night]
"""

from __future__ import annotations

import numpy as np

from gatys_jax.io import inputs
from gatys_jax.io.samples import PAINTINGS
from lab.figures import save_grid

from .claims import claim
from .experiment import Experiment
from .settings import defaults, parse, parser

NAME = "fig3"
DEFAULTS = defaults()  # capped at settings.CAP: images stop on convergence
SKIP = ("content_weight",)  # the two lambdas are the figure's columns
STYLES = ",".join(PAINTINGS)  # the paintings shipped with gatys_jax
CONTENT_WEIGHTS = (1e-3, 1e-4)
RATIO = 0.5  # "far below": at most this fraction of the baseline


def setup(argv) -> tuple[Experiment, list[str]]:
    """The experiment the command line `argv` asks for, and its paintings."""
    p = parser(__doc__.splitlines()[0], DEFAULTS, SKIP, style=False)
    p.add_argument("--styles", default=STYLES,
                   help=f"paintings: files or sample names (default {STYLES})")
    args, config = parse(p, argv, DEFAULTS)
    styles = [s for s in args.styles.split(",") if s]
    exp = Experiment(NAME, "a photograph in several painters' styles (Fig. 3)", args, config,
                     styles=styles, content_weights=list(CONTENT_WEIGHTS))
    return exp, styles


def paint(exp: Experiment, name: str, content: np.ndarray, style: np.ndarray
          ) -> tuple[list[dict], list[np.ndarray], dict, dict]:
    """The photo in painting `name`'s style (`style` as prepared) at each lambda, its losses
    against the photo's and the painting's own: (results, the pictures, the stylize call's
    program, the baselines)."""
    evaluate = exp.evaluator(name, exp.config)
    photo, painting = evaluate(content), evaluate(style)
    short = inputs.name_of(name)
    result = exp.stylize(short, [name], content_weights=CONTENT_WEIGHTS)
    program = {"style": short, "images": len(result.images),
               "batch_size": result.batch_size, "batches": result.batches}
    results = []
    for entry in result.images:
        lam, losses = entry.config.content_weight, entry.losses
        results.append({
            "style": name, "content_weight": lam,
            "image": exp.save_image(entry.image, f"{short}_cw{lam:g}"),
            "content_loss": losses["content_loss"], "style_loss": losses["style_loss"],
            "total_loss": losses["total_loss"],
            "content_loss_vs_painting": losses["content_loss"] / painting["content_loss"],
            "style_loss_vs_photo": losses["style_loss"] / photo["style_loss"]})
    pictures = [entry.image for entry in result.images]
    return results, pictures, program, {"photo": photo, "painting": painting}


def claims_of(results: list[dict], styles: list[str]) -> list[dict]:
    """Content and style combined in every result; the smaller lambda more stylized, per
    painting."""
    combined = all(r["content_loss_vs_painting"] <= RATIO and r["style_loss_vs_photo"] <= RATIO
                   for r in results)
    summaries = [f"{inputs.name_of(r['style'])} {r['content_weight']:g}: content "
                 f"{r['content_loss_vs_painting']:.2g}, style {r['style_loss_vs_photo']:.2g}"
                 for r in results]
    traded, lam_summaries = True, []
    for name in styles:
        per_lambda = {r["content_weight"]: r for r in results if r["style"] == name}
        lo, hi = per_lambda[min(per_lambda)], per_lambda[max(per_lambda)]
        traded &= lo["style_loss"] < hi["style_loss"] and lo["content_loss"] > hi["content_loss"]
        lam_summaries.append(f"{inputs.name_of(name)}: style {hi['style_loss']:.3g} -> "
                             f"{lo['style_loss']:.3g}, content {hi['content_loss']:.3g} -> "
                             f"{lo['content_loss']:.3g}")
    return [
        claim(
            "content_and_style_combined", "Each result keeps the photo's content and takes the "
            "painting's style",
            f"for every style and lambda: content loss <= {RATIO} x the painting's content loss "
            f"(vs the photo) and style loss <= {RATIO} x the photo's style loss (vs the painting)",
            {"ratios": [{k: r[k] for k in ("style", "content_weight", "content_loss_vs_painting",
                                           "style_loss_vs_photo")} for r in results]},
            "loss ratios (result / baseline): " + "; ".join(summaries), combined),
        claim(
            "smaller_lambda_more_style", "The smaller lambda (1e-4) emphasizes style over "
            "content", "for every style: lower style loss and higher content loss at 1e-4 than "
            "at 1e-3", {"per_style": lam_summaries},
            "lambda 1e-3 -> 1e-4: " + "; ".join(lam_summaries), traded),
    ]


def main(argv=None) -> dict:
    exp, styles = setup(argv)
    content, style_rgbs = exp.prepare(styles)
    results, rows, programs, baselines = [], [], [], {}
    for name, style in zip(styles, style_rgbs):
        painted, pictures, program, baselines[name] = paint(exp, name, content, style)
        results += painted
        rows.append([style, *pictures])
        programs.append(program)
    grid = save_grid(
        exp.folder / "grid.png", rows, row_labels=[inputs.name_of(s) for s in styles],
        col_labels=["painting"] + [f"lambda = {w:g}" for w in CONTENT_WEIGHTS],
        title=exp.title(f"{exp.args.content} in several styles"))
    return exp.finish(claims_of(results, styles), results, grid, baselines=baselines,
                      programs=programs)


if __name__ == "__main__":
    main()
