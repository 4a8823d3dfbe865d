"""The project's own sample: the photo in the painting's style at lambda = 0.002 with the
paper's settings, run to convergence and scored by the quality yardstick.

Claim: at this lambda the result is both: closer to the photo's content than the painting is,
and closer to the painting's style than the photo is. Measured (gatys_jax.quality, plain
Caffe VGG19): the result's content distance against the painting's own, its style distance
against the photo's own, and its pixel speckle against both images'.

    python -m paper.sample [--quick] [--size PX] [--iterations CAP] [--style ...]
"""

from __future__ import annotations

from lab.figures import save_grid

from .claims import claim
from .experiment import Experiment
from .settings import defaults, parse, parser

NAME = "sample"
CONTENT_WEIGHT = 2e-3
DEFAULTS = defaults(content_weight=CONTENT_WEIGHT)


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0], DEFAULTS)
    args, config = parse(p, argv, DEFAULTS)
    exp = Experiment(NAME, f"the sample at lambda {config.content_weight:g}", args, config,
                     style=args.style)
    content, (style,) = exp.prepare([args.style])
    result = exp.stylize(f"lambda {config.content_weight:g}", [args.style])
    (entry,) = result.images
    score, references = entry.quality, result.references[entry.style]
    photo, painting = references["content_image"], references["style_image"]
    grid = save_grid(
        exp.folder / "grid.png", [[content, entry.image, style]], col_labels=[
            "photo", f"lambda {config.content_weight:g}\nstyle {score['style_distance']:.2f}, "
            f"content {score['content_distance']:.2f}", "painting"],
        title=exp.title("The sample"))
    results = [{"image": exp.save_image(entry.image, "sample"), **score,
                "total_loss": entry.losses["total_loss"], "evaluations": entry.evaluations}]
    claims = [claim(
        "content_and_style", f"At lambda {config.content_weight:g} the result keeps the photo's "
        "content and takes the painting's style",
        "content distance below the painting's and style distance below the photo's "
        "(the yardstick's relative distances)",
        {"result": score, "photo": photo, "painting": painting},
        f"content distance {score['content_distance']:.3f} (painting "
        f"{painting['content_distance']:.3f}), "
        f"style distance {score['style_distance']:.3f} (photo {photo['style_distance']:.3f}), "
        f"speckle {score['speckle']:.0f} (photo {photo['speckle']:.0f}, painting "
        f"{painting['speckle']:.0f})",
        score["content_distance"] < painting["content_distance"]
        and score["style_distance"] < photo["style_distance"])]
    return exp.finish(claims, results, grid, references=references)


if __name__ == "__main__":
    main()
