"""Figure 1, content reconstructions: white noise optimized to match only the content
representation of a photo at conv1_2, conv2_2, conv3_2, conv4_2 or conv5_2.

Claim (paper, Fig. 1): lower layers reproduce the exact pixel values of the photo almost
perfectly; higher layers keep the high-level content (the arrangement) but not the pixels.
Measured: PSNR and SSIM of each reconstruction against the photo at the same size, and the
correlation of heavily blurred luminances (arrangement).

The conv1_2 reconstruction converges slowly in the fine, high-frequency pixel directions
conv1_2 hardly responds to: it takes thousands of L-BFGS iterations to pass 30 dB
(tests/test_paper_fig1.py checks that it does at 64 px), and its picture still moves by
more than the convergence rule allows after 8,000 iterations, so this experiment's cap is
settings.RECONSTRUCTION_CAP. The content loss reached is reported as a fraction of the
initial one. L-BFGS's spatial-frequency preconditioner (--precondition) damps exactly those
fine directions, so it slows this reconstruction down.

    python -m paper.fig1_content [--quick] [--size PX] [--iterations CAP] [--layers conv1_2,...]
"""

from __future__ import annotations

import numpy as np

from gatys_jax import quality
from lab.figures import save_grid

from .claims import claim, strictly_decreasing
from .experiment import Experiment
from .settings import CONTENT_LAYERS, RECONSTRUCTION_CAP, defaults, parse, parser

NAME = "fig1_content"
DEFAULTS = defaults(RECONSTRUCTION_CAP)  # images stop on convergence
SKIP = ("content_layer", "style_layers", "style_weights", "content_weight")
PSNR_ALMOST_EXACT = 30.0  # dB
SSIM_ALMOST_EXACT = 0.9
PSNR_NOT_PIXELS = 20.0  # dB: at most this for the two highest layers
LAYOUT_KEPT = 0.5  # blurred-luminance correlation at least this for the two highest layers


def setup(argv) -> tuple[Experiment, list[str]]:
    """The experiment the command line `argv` asks for, and the layers to reconstruct from."""
    p = parser(__doc__.splitlines()[0], DEFAULTS, SKIP, style=False)
    p.add_argument("--layers", default=",".join(CONTENT_LAYERS),
                   help="content layers to reconstruct from (default conv1_2..conv5_2)")
    args, config = parse(p, argv, DEFAULTS)
    layers = [l for l in args.layers.split(",") if l]
    # content only: no style layers, lambda 1 (the total loss is the content loss)
    exp = Experiment(NAME, "content reconstructions from white noise (Fig. 1, a-e)", args,
                     config.replace(style_layers=(), content_weight=1.0), layers=layers)
    return exp, layers


def reconstruct(exp: Experiment, layers: list[str], content: np.ndarray, blur: float
                ) -> tuple[list[dict], list[np.ndarray]]:
    """Each layer's reconstruction, measured against the photo (its layout at a blur of
    `blur` px): (results, the reconstructions)."""
    results, pictures = [], []
    for layer in layers:
        # the photo stands in as the style image: with no style layers it sets nothing
        (entry,) = exp.stylize(layer, [exp.args.content], content_layer=layer).images
        image = entry.image
        results.append({
            "layer": layer, "image": exp.save_image(image, layer),
            "psnr_db": quality.psnr(image, content), "ssim": quality.ssim(image, content),
            "layout_correlation": quality.layout_correlation(image, content, blur),
            "content_loss": entry.losses["content_loss"], "evaluations": entry.evaluations,
            "initial_content_loss": entry.history[0]["total_loss"]})
        pictures.append(image)
    return results, pictures


def claims_of(results: list[dict], layers: list[str]) -> list[dict]:
    """Exact pixels at conv1_2 (if reconstructed), detail lost with depth, the arrangement
    kept at conv4_2 and conv5_2 (those reconstructed)."""
    by = {r["layer"]: r for r in results}
    psnrs, ssims = [r["psnr_db"] for r in results], [r["ssim"] for r in results]
    claims = []
    if "conv1_2" in by:
        low = by["conv1_2"]
        claims.append(claim(
            "low_layer_exact", "The lowest layer (conv1_2) reproduces the photo's pixels almost "
            "exactly", f"PSNR >= {PSNR_ALMOST_EXACT} dB and SSIM >= {SSIM_ALMOST_EXACT} at conv1_2",
            {"psnr_db": low["psnr_db"], "ssim": low["ssim"], "evaluations": low["evaluations"],
             "content_loss_vs_initial": low["content_loss"] / low["initial_content_loss"]},
            f"conv1_2: {low['psnr_db']:.1f} dB, SSIM {low['ssim']:.3f}",
            low["psnr_db"] >= PSNR_ALMOST_EXACT and low["ssim"] >= SSIM_ALMOST_EXACT,
            runs=["conv1_2"]))
    claims.append(claim(
        "detail_lost_with_depth", "Reconstructions lose pixel detail as the layer gets higher",
        "PSNR and SSIM strictly decrease from each layer to the next higher one",
        {"layers": layers, "psnr_db": psnrs, "ssim": ssims},
        f"{', '.join(layers)}: PSNR " + ", ".join(f"{v:.1f}" for v in psnrs) + " dB; SSIM "
        + ", ".join(f"{v:.2f}" for v in ssims),
        strictly_decreasing(psnrs) and strictly_decreasing(ssims)))
    high = [by[l] for l in ("conv4_2", "conv5_2") if l in by]
    if high:
        claims.append(claim(
            "high_layers_keep_arrangement", "Higher layers (conv4_2, conv5_2) keep the "
            "arrangement of the photo but not its exact pixels",
            f"blurred-luminance correlation (sigma = long side / 32) >= {LAYOUT_KEPT} and "
            f"PSNR <= {PSNR_NOT_PIXELS} dB at conv4_2 and conv5_2",
            {r["layer"]: {"layout_correlation": r["layout_correlation"], "psnr_db": r["psnr_db"]}
             for r in high},
            "; ".join(f"{r['layer']}: r = {r['layout_correlation']:.2f}, {r['psnr_db']:.1f} dB"
                      for r in high),
            all(r["layout_correlation"] >= LAYOUT_KEPT and r["psnr_db"] <= PSNR_NOT_PIXELS
                for r in high), runs=[r["layer"] for r in high]))
    return claims


def main(argv=None) -> dict:
    exp, layers = setup(argv)
    content, _ = exp.prepare([])
    blur = max(content.shape[:2]) / 32.0
    results, pictures = reconstruct(exp, layers, content, blur)
    grid = save_grid(
        exp.folder / "grid.png", [[content, *pictures]], col_labels=["photo"] + [
            f"{r['layer']}\n{r['psnr_db']:.1f} dB, SSIM {r['ssim']:.2f}" for r in results],
        title=exp.title("Content reconstructions from white noise"))
    return exp.finish(claims_of(results, layers), results, grid, blur_sigma_px=blur)


if __name__ == "__main__":
    main()
