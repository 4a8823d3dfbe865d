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

from gatys_jax.io import inputs
from gatys_jax.io.samples import PAINTINGS

from . import common

NAME = "fig3"
DEFAULTS = common.defaults()  # capped at common.CAP: images stop on convergence
SKIP = ("content_weight",)  # the two lambdas are the figure's columns
STYLES = ",".join(PAINTINGS)  # the paintings shipped with gatys_jax
CONTENT_WEIGHTS = (1e-3, 1e-4)
RATIO = 0.5  # "far below": at most this fraction of the baseline


def main(argv=None) -> dict:
    p = common.parser(__doc__.splitlines()[0], DEFAULTS, SKIP, style=False)
    p.add_argument("--styles", default=STYLES,
                   help=f"paintings: files or sample names (default {STYLES})")
    args, config = common.parse(p, argv, DEFAULTS)
    styles = [s for s in args.styles.split(",") if s]
    exp = common.Experiment(NAME, "a photograph in several painters' styles (Fig. 3)", args,
                            config, styles=styles, content_weights=list(CONTENT_WEIGHTS))
    content, style_rgbs = exp.prepare(styles)

    results, baselines, rows, programs, claims_ok, lam_ok = [], {}, [], [], True, True
    summaries, lam_summaries = [], []
    for name, style in zip(styles, style_rgbs):
        evaluate = exp.evaluator(name, exp.config)
        photo, painting = evaluate(content), evaluate(style)
        row = [style]
        per_lambda = {}
        short = inputs.name_of(name)
        result = exp.stylize(short, [name], content_weights=CONTENT_WEIGHTS)
        programs.append({"style": short, "images": len(result.images),
                         "batch_size": result.batch_size, "chunks": result.chunks})
        for entry in result.images:
            lam, losses = entry.config.content_weight, entry.losses
            r = {"style": name, "content_weight": lam,
                 "image": exp.save_image(entry.image, f"{short}_cw{lam:g}"),
                 "content_loss": losses["content_loss"], "style_loss": losses["style_loss"],
                 "total_loss": losses["total_loss"],
                 "content_loss_vs_painting": losses["content_loss"] / painting["content_loss"],
                 "style_loss_vs_photo": losses["style_loss"] / photo["style_loss"]}
            results.append(r)
            per_lambda[lam] = r
            row.append(entry.image)
            ok = r["content_loss_vs_painting"] <= RATIO and r["style_loss_vs_photo"] <= RATIO
            claims_ok &= ok
            summaries.append(f"{short} {lam:g}: content {r['content_loss_vs_painting']:.2g}"
                             f", style {r['style_loss_vs_photo']:.2g}")
        rows.append(row)
        baselines[name] = {"photo": photo, "painting": painting}
        lo, hi = per_lambda[min(per_lambda)], per_lambda[max(per_lambda)]
        lam_ok &= lo["style_loss"] < hi["style_loss"] and lo["content_loss"] > hi["content_loss"]
        lam_summaries.append(f"{short}: style {hi['style_loss']:.3g} -> "
                             f"{lo['style_loss']:.3g}, content {hi['content_loss']:.3g} -> "
                             f"{lo['content_loss']:.3g}")
    grid = common.save_grid(
        exp.folder / "grid.png", rows, row_labels=[inputs.name_of(s) for s in styles],
        col_labels=["painting"] + [f"lambda = {w:g}" for w in CONTENT_WEIGHTS],
        title=exp.title(f"{args.content} in several styles"))
    claims = [
        common.claim(
            "content_and_style_combined", "Each result keeps the photo's content and takes the "
            "painting's style",
            f"for every style and lambda: content loss <= {RATIO} x the painting's content loss "
            f"(vs the photo) and style loss <= {RATIO} x the photo's style loss (vs the painting)",
            {"ratios": [{k: r[k] for k in ("style", "content_weight", "content_loss_vs_painting",
                                           "style_loss_vs_photo")} for r in results]},
            "loss ratios (result / baseline): " + "; ".join(summaries), claims_ok),
        common.claim(
            "smaller_lambda_more_style", "The smaller lambda (1e-4) emphasizes style over "
            "content", "for every style: lower style loss and higher content loss at 1e-4 than "
            "at 1e-3", {"per_style": lam_summaries},
            "lambda 1e-3 -> 1e-4: " + "; ".join(lam_summaries), lam_ok),
    ]
    return exp.finish(claims, results, grid, baselines=baselines, programs=programs)


if __name__ == "__main__":
    main()
