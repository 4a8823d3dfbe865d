"""Figure 1, style reconstructions: white noise optimized to match only the style
representation (Gram matrices) of a painting on conv1_1; conv1_1+conv2_1; ... conv1_1..conv5_1.

Claim (paper, Fig. 1): matching the style representation on more (higher) layers reproduces
the painting's style at increasingly large scales. Measured for each reconstruction: the
style loss on all five layers (gatys_jax.losses on the final image, not only on the layers it
matched) and the spatial scale of its structures (autocorrelation length and power-spectrum
wavelength of the luminance), with their rank correlation against the number of layers.

    python scripts/paper/fig1_style.py [--size 256] [--iterations N] [--style starry_night.jpg]
"""

from __future__ import annotations

import common

NAME = "fig1_style"
ITERATIONS = 100
RANK_CORRELATION = 0.8  # |Spearman rho| at least this counts as a trend


def main(argv=None) -> dict:
    p = common.parser(__doc__.splitlines()[0], ITERATIONS)
    p.add_argument("--style", default="starry_night.jpg", help="painting in --images")
    p.add_argument("--subsets", default="1,2,3,4,5",
                   help="numbers of layers of the subsets conv1_1..convK_1 (default 1,2,3,4,5)")
    args = p.parse_args(argv)
    subsets = [common.STYLE_SUBSETS[int(k) - 1] for k in args.subsets.split(",")]
    exp = common.Experiment(NAME, "style reconstructions from white noise (Fig. 1, a-e)", args,
                            style=args.style, subsets=[list(s) for s in subsets], init="noise")
    content, (style,) = common.prepare(exp, [args.style])
    evaluate = common.Evaluator(exp.vgg, content, style, content_layer=None)

    results, row = [], []
    for layers in subsets:
        label = common.subset_label(layers)
        # the content image only sets the size; content_layer=None: no content loss
        (image,), run = exp.stylize(label, content, style, content_layer=None,
                                    style_layers=layers, content_weights=(0.0,))
        all_layers = evaluate(image)
        results.append({
            "layers": list(layers), "label": label, "image": exp.save_image(image, label),
            "matched_style_loss": run["images"][0]["style_loss"],
            "style_loss_all_layers": all_layers["style_loss"],
            "style_layer_losses_all_layers": all_layers["style_layer_losses"],
            **common.scale_measures(image)})
        row.append(image)
    painting = {"style_loss_all_layers": evaluate(style)["style_loss"],
                **common.scale_measures(style)}
    grid = common.save_grid(
        exp.folder / "grid.png", [row + [style.astype("uint8")]], col_labels=[
            f"{r['label']}\nacl {r['autocorrelation_length_px']:.1f} px, "
            f"L5 {r['style_loss_all_layers']:.2g}" for r in results] + ["painting"],
        title=f"Style reconstructions from white noise, {args.iterations} L-BFGS iterations "
              "(acl: autocorrelation length; L5: style loss on all 5 layers)")

    counts = [len(r["layers"]) for r in results]
    acl = [r["autocorrelation_length_px"] for r in results]
    wavelength = [r["spectral_wavelength_px"] for r in results]
    loss5 = [r["style_loss_all_layers"] for r in results]
    rho_acl, rho_wave = common.spearman(counts, acl), common.spearman(counts, wavelength)
    rho_loss = common.spearman(counts, loss5)
    claims = [
        common.claim(
            "larger_scale_with_more_layers", "Matching more layers reproduces the style at "
            "larger scales",
            f"Spearman rho(number of layers, scale) >= {RANK_CORRELATION} for both the "
            "autocorrelation length and the spectral wavelength",
            {"layers": counts, "autocorrelation_length_px": acl,
             "spectral_wavelength_px": wavelength, "spearman_autocorrelation": rho_acl,
             "spearman_wavelength": rho_wave, "painting": painting},
            "autocorrelation length " + ", ".join(f"{v:.1f}" for v in acl)
            + f" px (rho {rho_acl:.2f}); wavelength " + ", ".join(f"{v:.1f}" for v in wavelength)
            + f" px (rho {rho_wave:.2f}); painting {painting['autocorrelation_length_px']:.1f} / "
            f"{painting['spectral_wavelength_px']:.1f} px",
            rho_acl >= RANK_CORRELATION and rho_wave >= RANK_CORRELATION),
        common.claim(
            "style_loss_all_layers_falls", "Matching more layers brings the whole style "
            "representation (all five layers) closer to the painting's",
            f"Spearman rho(number of layers, style loss on all five layers) <= -{RANK_CORRELATION}",
            {"layers": counts, "style_loss_all_layers": loss5, "spearman": rho_loss},
            "style loss on 5 layers " + ", ".join(f"{v:.3g}" for v in loss5)
            + f" (rho {rho_loss:.2f})", rho_loss <= -RANK_CORRELATION),
    ]
    return exp.finish(claims, results, grid, painting=painting)


if __name__ == "__main__":
    main()
