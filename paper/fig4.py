"""Figure 4: rows = style layer subsets (conv1_1; conv1_1+conv2_1; ... conv1_1..conv5_1),
columns = lambda = alpha/beta in {1e-5, 1e-4, 1e-3, 1e-2}. With batching on (--batching; the
default except on a CPU), each row's lambdas are ONE stylize_batch call: lambda is a batched
(vmapped) runtime argument of one compiled program, not a Python loop that recompiles.

Claims: in every row a larger lambda trades style for content (content loss falls, style loss
rises); matching style on higher layers gives larger-scale structures (style-dominated
columns; by both of fig1_style's scale measures), each over the images of its row or column
that converged (claims.trend); with batching on, each row is one compiled program (one
batch).

    python -m paper.fig4 [--quick] [--size PX] [--iterations CAP] [--rows 1,2,3,4,5]
"""

from __future__ import annotations

from scipy.stats import spearmanr

from gatys_jax import quality
from lab.figures import save_grid
from lab.measures import SCALE_MEASURES

from .claims import (RANK_CORRELATION, claim, image_id, left_out, strictly_decreasing,
                     strictly_increasing, trend)
from .experiment import Experiment
from .settings import RECONSTRUCTION_CAP, defaults, parse, parser, style_subsets, subset_label

NAME = "fig4"
# its style-dominated columns are all but style reconstructions, which settle as slowly
DEFAULTS = defaults(RECONSTRUCTION_CAP)  # images stop on convergence
SKIP = ("style_layers", "style_weights", "content_weight")  # the rows and the columns
CONTENT_WEIGHTS = (1e-5, 1e-4, 1e-3, 1e-2)
STYLE_COLUMNS = (1e-5, 1e-4)  # where the scale claim is checked: style dominates there


def setup(argv) -> tuple[Experiment, list[tuple[str, ...]], tuple[float, ...]]:
    """The experiment the command line `argv` asks for, its rows' layer subsets and its
    columns' lambdas."""
    p = parser(__doc__.splitlines()[0], DEFAULTS, SKIP)
    p.add_argument("--rows", type=style_subsets, default="1,2,3,4,5",
                   help="numbers of style layers of the rows conv1_1..convK_1 (default 1,2,3,4,5)")
    p.add_argument("--content-weights", default=",".join(f"{w:g}" for w in CONTENT_WEIGHTS),
                   help="the columns' lambdas, ascending (default 1e-5,1e-4,1e-3,1e-2)")
    args, config = parse(p, argv, DEFAULTS)
    lambdas = tuple(float(w) for w in args.content_weights.split(","))
    exp = Experiment(NAME, "style layers x lambda grid (Fig. 4)", args, config,
                     style=args.style, rows=[list(s) for s in args.rows],
                     content_weights=list(lambdas))
    return exp, args.rows, lambdas


def run_rows(exp: Experiment, subsets, lambdas) -> tuple[list[dict], list[list], list[dict]]:
    """Each row's lambdas as one stylize call: (results, the pictures per row, each row's
    program)."""
    results, rows, programs = [], [], []
    for layers in subsets:
        label = subset_label(layers)
        result = exp.stylize(label, [exp.args.style], content_weights=lambdas,
                             style_layers=layers)
        programs.append({"row": label, "images": len(result.images),
                         "batch_size": result.batch_size, "batches": result.batches,
                         "compile_seconds": result.compile_seconds})
        for index, entry in enumerate(result.images):
            lam = entry.config.content_weight
            results.append({
                "layers": list(layers), "label": label, "content_weight": lam,
                "image_id": image_id(label, index),
                "image": exp.save_image(entry.image, f"{label}_cw{lam:g}"),
                "content_loss": entry.losses["content_loss"],
                "style_loss": entry.losses["style_loss"],
                "total_loss": entry.losses["total_loss"], "evaluations": entry.evaluations,
                "history_total_loss": [h["total_loss"] for h in entry.history],
                **quality.scale_measures(entry.image)})
        rows.append([entry.image for entry in result.images])
    return results, rows, programs


def trade_claim(results: list[dict], subsets, unconverged: list[str]) -> dict:
    """In every row, content loss falls and style loss rises with lambda (over the row's
    converged images: trend)."""
    supported, trade, ids, without = True, {}, [], []
    for layers in subsets:
        label = subset_label(layers)
        row, row_ids, row_without = trend(sorted(
            (r for r in results if r["label"] == label), key=lambda r: r["content_weight"]),
            unconverged)
        ids += row_ids
        without += row_without
        content_losses = [r["content_loss"] for r in row]
        style_losses = [r["style_loss"] for r in row]
        trade[label] = {"content_weight": [r["content_weight"] for r in row],
                        "content_loss": content_losses, "style_loss": style_losses}
        supported &= strictly_decreasing(content_losses) and strictly_increasing(style_losses)
    return claim(
        "lambda_trades_style_for_content", "A larger lambda emphasizes content over style",
        "in every row, content loss strictly decreases and style loss strictly increases "
        "with lambda", trade, "; ".join(
            f"{k}: content {v['content_loss'][0]:.3g} -> {v['content_loss'][-1]:.3g}, style "
            f"{v['style_loss'][0]:.3g} -> {v['style_loss'][-1]:.3g}" for k, v in trade.items())
        + left_out(without), supported, runs=ids)


def scale_claim(results: list[dict], subsets, lambdas, unconverged: list[str]) -> dict:
    """Larger structures with more style layers, by both scale measures, in the
    style-dominated columns (over each column's converged images: trend)."""
    scale, supported, checked, ids, without = {}, True, 0, [], []
    for lam in lambdas:
        column, column_ids, column_without = trend(
            [next(r for r in results if r["content_weight"] == lam and r["layers"] == list(s))
             for s in subsets], unconverged)
        counts = [len(r["layers"]) for r in column]
        scale[f"{lam:g}"] = measured = {"layers": counts}
        for measure in SCALE_MEASURES:
            values = [r[measure] for r in column]
            measured[measure] = values
            measured[f"spearman_{measure}"] = float(spearmanr(counts, values).statistic)
        if lam in STYLE_COLUMNS:
            checked += 1
            ids += column_ids
            without += column_without
            supported &= all(measured[f"spearman_{m}"] >= RANK_CORRELATION
                             for m in SCALE_MEASURES)
    return claim(
        "higher_layers_larger_structures", "Matching style on higher layers gives "
        "larger-scale, smoother structures",
        "Spearman rho(number of style layers, scale) >= "
        f"{RANK_CORRELATION} for both the autocorrelation length and the spectral "
        "wavelength, in the style-dominated columns lambda = "
        + ", ".join(f"{w:g}" for w in STYLE_COLUMNS), scale,
        "; ".join(f"lambda {k}: " + ", ".join(
            f"{SCALE_MEASURES[m]} " + " ".join(f"{a:.1f}" for a in v[m])
            + f" px (rho {v[f'spearman_{m}']:.2f})" for m in SCALE_MEASURES)
            for k, v in scale.items()) + left_out(without),
        supported and checked > 0 and len(subsets) > 1, runs=ids)


def program_claim(programs: list[dict], lambdas) -> dict:
    """Each row one compiled program: one batch of all its lambdas."""
    one_program = all(p["batches"] == 1 and p["batch_size"] >= len(lambdas) for p in programs)
    return claim(
        "one_program_per_row", "All lambdas of a row are one compiled (vmapped) program",
        "each row's stylize_batch call compiled once and ran all its lambdas as one batch "
        "(batches == 1, batch size >= number of lambdas)", {"rows": programs},
        ", ".join(f"{p['row']}: batch {p['batch_size']}, {p['batches']} batch(es)" for p in programs),
        one_program, needs_convergence=False)


def main(argv=None) -> dict:
    exp, subsets, lambdas = setup(argv)
    results, rows, programs = run_rows(exp, subsets, lambdas)
    grid = save_grid(
        exp.folder / "grid.png", rows, row_labels=[subset_label(s) for s in subsets],
        col_labels=[f"lambda = {w:g}" for w in lambdas], title=exp.title("Style layers x lambda"))
    unconverged = exp.unconverged()
    claims = [trade_claim(results, subsets, unconverged),
              scale_claim(results, subsets, lambdas, unconverged)]
    if exp.batched:  # one image at a time makes no such claim
        claims.append(program_claim(programs, lambdas))
    return exp.finish(claims, results, grid, programs=programs)


if __name__ == "__main__":
    main()
