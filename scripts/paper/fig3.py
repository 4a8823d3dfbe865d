"""Figure 3: one photograph (tubingen.jpg) rendered in the styles of several paintings at
lambda = alpha/beta = 1e-3 and 1e-4; all styles and both lambdas are one stylize_batch call
(one compiled, vmapped program).

Claims: each result keeps the photo's content and takes the painting's style (its content loss
is far below the painting's own, its style loss far below the photo's own); the smaller lambda
puts more emphasis on style (lower style loss, higher content loss).

    python scripts/paper/fig3.py [--size 256] [--iterations N] [--styles a.jpg,b.jpg]
"""

from __future__ import annotations

from pathlib import Path

import common

NAME = "fig3"
ITERATIONS = 60
STYLES = "shipwreck.jpg,starry_night.jpg,woman-with-hat-matisse.jpg"
CONTENT_WEIGHTS = (1e-3, 1e-4)
RATIO = 0.5  # "far below": at most this fraction of the baseline


def main(argv=None) -> dict:
    p = common.parser(__doc__.splitlines()[0], ITERATIONS)
    p.add_argument("--styles", default=STYLES, help=f"paintings in --images (default {STYLES})")
    args = p.parse_args(argv)
    styles = [s for s in args.styles.split(",") if s]
    exp = common.Experiment(NAME, "a photograph in several painters' styles (Fig. 3)", args,
                            styles=styles, content_weights=list(CONTENT_WEIGHTS), init="noise")
    content, style_rgbs = common.prepare(exp, styles)
    result_images, run = exp.stylize("styles x lambdas", content, style_rgbs,
                                     content_weights=CONTENT_WEIGHTS)

    results, baselines, rows, claims_ok, lam_ok = [], {}, [], True, True
    summaries, lam_summaries = [], []
    for index, (name, style) in enumerate(zip(styles, style_rgbs)):
        evaluate = common.Evaluator(exp.vgg, content, style)
        photo, painting = evaluate(content), evaluate(style)
        row = [style.astype("uint8")]
        per_lambda = {}
        for image, entry in zip(result_images, run["images"]):
            if entry["style"] != index:
                continue
            lam = entry["content_weight"]
            label = f"{Path(name).stem}_cw{lam:g}"
            r = {"style": name, "content_weight": lam, "image": exp.save_image(image, label),
                 "content_loss": entry["content_loss"], "style_loss": entry["style_loss"],
                 "total_loss": entry["total_loss"],
                 "content_loss_vs_painting": entry["content_loss"] / painting["content_loss"],
                 "style_loss_vs_photo": entry["style_loss"] / photo["style_loss"]}
            results.append(r)
            per_lambda[lam] = r
            row.append(image)
            ok = r["content_loss_vs_painting"] <= RATIO and r["style_loss_vs_photo"] <= RATIO
            claims_ok &= ok
            summaries.append(f"{Path(name).stem} {lam:g}: content {r['content_loss_vs_painting']:.2f}"
                             f", style {r['style_loss_vs_photo']:.3f}")
        rows.append(row)
        baselines[name] = {"photo": photo, "painting": painting}
        lo, hi = per_lambda[min(per_lambda)], per_lambda[max(per_lambda)]
        lam_ok &= lo["style_loss"] < hi["style_loss"] and lo["content_loss"] > hi["content_loss"]
        lam_summaries.append(f"{Path(name).stem}: style {hi['style_loss']:.3g} -> "
                             f"{lo['style_loss']:.3g}, content {hi['content_loss']:.3g} -> "
                             f"{lo['content_loss']:.3g}")
    grid = common.save_grid(
        exp.folder / "grid.png", rows, row_labels=[Path(s).stem for s in styles],
        col_labels=["painting"] + [f"lambda = {w:g}" for w in CONTENT_WEIGHTS],
        title=f"{args.content} in several styles, {args.iterations} L-BFGS iterations")
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
    return exp.finish(claims, results, grid, baselines=baselines, one_program={
        "images": len(result_images), "batch_size": run["batch_size"], "chunks": run["chunks"]})


if __name__ == "__main__":
    main()
