"""Figure 5: the content matched at conv2_2 vs conv4_2, with the same style (conv1_1..conv5_1)
and lambda.

Claims (paper, Fig. 5): with content at conv2_2 much of the photo's fine structure is kept
(the style looks blended over the photo); with content at conv4_2 the photo's content merges
with the style (its fine detail follows the painting). Measured: PSNR and SSIM against the
photo, and the style loss, of both results.

    python -m paper.fig5 [--quick] [--size PX] [--iterations CAP] [--style ...]
"""

from __future__ import annotations

from gatys_jax import quality
from lab.figures import save_grid

from .claims import claim
from .experiment import Experiment
from .settings import defaults, parse, parser

NAME = "fig5"
DEFAULTS = defaults()  # capped at settings.CAP: images stop on convergence
SKIP = ("content_layer",)  # the two compared
LAYERS = ("conv2_2", "conv4_2")


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0], DEFAULTS, SKIP)
    args, config = parse(p, argv, DEFAULTS)
    exp = Experiment(NAME, "content layer conv2_2 vs conv4_2 (Fig. 5)", args, config,
                     style=args.style, content_layers=list(LAYERS))
    content, (style,) = exp.prepare([args.style])

    results, row = {}, [content]
    for layer in LAYERS:
        (entry,) = exp.stylize(layer, [args.style], content_layer=layer).images
        image = entry.image
        results[layer] = {
            "content_layer": layer, "image": exp.save_image(image, layer),
            "psnr_db": quality.psnr(image, content), "ssim": quality.ssim(image, content),
            "content_loss": entry.losses["content_loss"],
            "style_loss": entry.losses["style_loss"], "total_loss": entry.losses["total_loss"]}
        row.append(image)
    low, high = results["conv2_2"], results["conv4_2"]
    grid = save_grid(
        exp.folder / "grid.png", [row + [style]], col_labels=[
            "photo", f"content conv2_2\n{low['psnr_db']:.1f} dB, SSIM {low['ssim']:.2f}",
            f"content conv4_2\n{high['psnr_db']:.1f} dB, SSIM {high['ssim']:.2f}", "painting"],
        title=exp.title(f"Content layer, lambda {config.content_weight:g}"))
    claims = [
        claim(
            "conv2_2_keeps_detail", "Content matched at conv2_2 keeps more of the photo's fine "
            "structure than at conv4_2", "PSNR and SSIM against the photo higher at conv2_2",
            {l: {"psnr_db": r["psnr_db"], "ssim": r["ssim"]} for l, r in results.items()},
            f"conv2_2 {low['psnr_db']:.1f} dB / SSIM {low['ssim']:.2f} vs conv4_2 "
            f"{high['psnr_db']:.1f} dB / SSIM {high['ssim']:.2f}",
            low["psnr_db"] > high["psnr_db"] and low["ssim"] > high["ssim"]),
        claim(
            "conv4_2_merges_style", "Content matched at conv4_2 lets the style take over more of "
            "the image", "style loss lower at conv4_2 than at conv2_2",
            {l: r["style_loss"] for l, r in results.items()},
            f"style loss conv2_2 {low['style_loss']:.3g} vs conv4_2 {high['style_loss']:.3g}",
            high["style_loss"] < low["style_loss"]),
    ]
    return exp.finish(claims, list(results.values()), grid)


if __name__ == "__main__":
    main()
