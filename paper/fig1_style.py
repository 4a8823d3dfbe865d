"""Figure 1, style reconstructions: white noise optimized to match only the style
representation (Gram matrices) of a painting on conv1_1; conv1_1+conv2_1; ... conv1_1..conv5_1.

Claim (paper, Fig. 1): matching the style representation on more (higher) layers reproduces
the painting's style at increasingly large scales. Measured for each reconstruction: the
style loss on all five layers (on the final image, not only on the layers it matched) and
the spatial scale of its structures (autocorrelation length and power-spectrum wavelength of
the luminance), with their rank correlation against the number of layers over the
reconstructions that converged (claims.trend). Its loss, like a content reconstruction's,
falls towards zero for as long as it runs, so its cap is settings.RECONSTRUCTION_CAP.

    python -m paper.fig1_style [--quick] [--size PX] [--iterations CAP] [--style starry_night]
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from gatys_jax import quality
from lab.figures import save_grid

from .claims import RANK_CORRELATION, claim, image_id, left_out, trend
from .evaluator import Evaluator
from .experiment import Experiment
from .settings import (RECONSTRUCTION_CAP, STYLE_LAYERS, defaults, parse, parser, style_subsets,
                       subset_label)

NAME = "fig1_style"
DEFAULTS = defaults(RECONSTRUCTION_CAP)  # images stop on convergence
SKIP = ("content_layer", "style_layers", "style_weights", "content_weight")


def setup(argv) -> tuple[Experiment, list[tuple[str, ...]]]:
    """The experiment the command line `argv` asks for, and the layer subsets to match."""
    p = parser(__doc__.splitlines()[0], DEFAULTS, SKIP)
    p.add_argument("--subsets", type=style_subsets, default="1,2,3,4,5",
                   help="numbers of layers of the subsets conv1_1..convK_1 (default 1,2,3,4,5)")
    args, config = parse(p, argv, DEFAULTS)
    # style only: the content image sets the size, no content loss
    exp = Experiment(NAME, "style reconstructions from white noise (Fig. 1, a-e)", args,
                     config.replace(content_layer=None, content_weight=0.0),
                     style=args.style, subsets=[list(s) for s in args.subsets])
    return exp, args.subsets


def reconstruct(exp: Experiment, subsets, evaluate: Evaluator
                ) -> tuple[list[dict], list[np.ndarray]]:
    """Each subset's reconstruction, measured on all five layers (`evaluate`) and by the
    scale of its structures: (results, the reconstructions)."""
    results, pictures = [], []
    for layers in subsets:
        label = subset_label(layers)
        (entry,) = exp.stylize(label, [exp.args.style], style_layers=layers).images
        image = entry.image
        all_layers = evaluate(image)
        results.append({
            "layers": list(layers), "label": label, "image_id": image_id(label, 0),
            "image": exp.save_image(image, label),
            "matched_style_loss": entry.losses["style_loss"],
            "style_loss_all_layers": all_layers["style_loss"],
            "style_layer_losses_all_layers": all_layers["style_layer_losses"],
            **quality.scale_measures(image)})
        pictures.append(image)
    return results, pictures


def claims_of(results: list[dict], painting: dict, unconverged: list[str]) -> list[dict]:
    """Larger scales and a lower style loss on all five layers with more layers, over the
    reconstructions that converged (trend)."""
    counted, counted_ids, without = trend(results, unconverged)
    counts = [len(r["layers"]) for r in counted]
    acl = [r["autocorrelation_length_px"] for r in counted]
    wavelength = [r["spectral_wavelength_px"] for r in counted]
    loss5 = [r["style_loss_all_layers"] for r in counted]
    rho_acl = float(spearmanr(counts, acl).statistic)
    rho_wave = float(spearmanr(counts, wavelength).statistic)
    rho_loss = float(spearmanr(counts, loss5).statistic)
    return [
        claim(
            "larger_scale_with_more_layers", "Matching more layers reproduces the style at "
            "larger scales",
            f"Spearman rho(number of layers, scale) >= {RANK_CORRELATION} for both the "
            "autocorrelation length and the spectral wavelength",
            {"layers": counts, "autocorrelation_length_px": acl,
             "spectral_wavelength_px": wavelength, "spearman_autocorrelation": rho_acl,
             "spearman_wavelength": rho_wave, "painting": painting, "left_out": without},
            "autocorrelation length " + ", ".join(f"{v:.1f}" for v in acl)
            + f" px (rho {rho_acl:.2f}); wavelength " + ", ".join(f"{v:.1f}" for v in wavelength)
            + f" px (rho {rho_wave:.2f}); painting {painting['autocorrelation_length_px']:.1f} / "
            f"{painting['spectral_wavelength_px']:.1f} px" + left_out(without),
            rho_acl >= RANK_CORRELATION and rho_wave >= RANK_CORRELATION, runs=counted_ids),
        claim(
            "style_loss_all_layers_falls", "Matching more layers brings the whole style "
            "representation (all five layers) closer to the painting's",
            "Spearman rho(number of layers, style loss on all five layers) <= "
            f"-{RANK_CORRELATION}",
            {"layers": counts, "style_loss_all_layers": loss5, "spearman": rho_loss,
             "left_out": without},
            "style loss on 5 layers " + ", ".join(f"{v:.3g}" for v in loss5)
            + f" (rho {rho_loss:.2f})" + left_out(without),
            rho_loss <= -RANK_CORRELATION, runs=counted_ids),
    ]


def main(argv=None) -> dict:
    exp, subsets = setup(argv)
    content, (style,) = exp.prepare([exp.args.style])
    evaluate = Evaluator(exp.vgg, content, style, exp.config.replace(style_layers=STYLE_LAYERS))
    results, pictures = reconstruct(exp, subsets, evaluate)
    painting = {"style_loss_all_layers": evaluate(style)["style_loss"],
                **quality.scale_measures(style)}
    grid = save_grid(
        exp.folder / "grid.png", [pictures + [style]], col_labels=[
            f"{r['label']}\nacl {r['autocorrelation_length_px']:.1f} px, "
            f"L5 {r['style_loss_all_layers']:.2g}" for r in results] + ["painting"],
        title=exp.title("Style reconstructions from white noise")
        + " (acl: autocorrelation length; L5: style loss on all 5 layers)")
    return exp.finish(claims_of(results, painting, exp.unconverged()), results, grid,
                      painting=painting)


if __name__ == "__main__":
    main()
