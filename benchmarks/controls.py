"""The controls (original colours, blended styles, style scale, spatial masks): what each costs
per evaluation, what each does, measured, and a picture of each from bundled images.

1. Cost: one loss+gradient evaluation of the plain objective and of each control's objective
   (blend and colours change only the targets or the inputs; style scale only the targets;
   masks add guided Gram matrices), timed interleaved, medians; the ratio to plain.
2. Effect, each from the same start with the library's defaults otherwise:
   - colours: chelsea in the style of starry_night, plain, luminance, histogram; the mean
     (a*, b*) distance of the output to the content (CIELAB);
   - blend: chelsea with starry_night and shipwreck at 1:0, 1:1, 0:1;
   - style scale: F = 0.5, 1, 2; the autocorrelation length of the output (px);
   - masks: rocket in the style of starry_night, sky from the sky and ground from the village
     (the bundled rocket_mask and starry_night_mask), beside the unmasked result.
   One JPEG per control (at most 150 KB) into --pictures (default docs/controls/), the tables
   to docs/controls.md unless --no-docs.

    python -m benchmarks.controls --size 256
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import jax
import numpy as np

import gatys_jax
from gatys_jax import build, quality
from gatys_jax.config import StyleConfig
from gatys_jax.controls import colors
from gatys_jax.io import inputs
from gatys_jax.problem import prepare_images, read_inputs, scale_problem
from gatys_jax.weights import h5
from lab import experiment, host, script

from . import common, panel

PICTURE_BYTES = 150_000
CONTENT, STYLE, OTHER = "chelsea", "starry_night", "shipwreck"
MASKED = ("rocket", "starry_night", "rocket_mask", "starry_night_mask")


def cost(config: StyleConfig, repeats: int) -> list[dict]:
    """Median ms of one evaluation per control, interleaved."""
    vgg = h5.resolve(config.weights)
    params = jax.device_put(vgg.params)
    objective = build.objective_of(config)
    variants = {
        "plain": (config, [STYLE], CONTENT),
        "blend of 2 styles": (config.replace(blend=(0.5, 0.5)), [STYLE, OTHER], CONTENT),
        "style scale 2": (config.replace(style_scale=2.0), [STYLE], CONTENT),
        "luminance colours": (config.replace(preserve_colors="luminance"), [STYLE], CONTENT),
        "histogram colours": (config.replace(preserve_colors="histogram"), [STYLE], CONTENT),
        "masks, 2 regions": (config.replace(content_mask=MASKED[2], style_mask=(MASKED[3],)),
                             [MASKED[1]], MASKED[0]),
    }
    cases = []
    for name, (variant, styles, content) in variants.items():
        content_rgb, _ = read_inputs(content, [], variant.size)
        source = prepare_images(variant, inputs.read(content),
                                  [inputs.read(style) for style in styles])
        problem = scale_problem(variant, source, objective, vgg, params, content_rgb.shape[:2])
        x = jax.numpy.asarray(problem.x0(variant))
        evaluate = jax.jit(lambda x, p, t, w: objective.loss(p, t, w).value_and_grad(x))
        args = (x, params, problem.targets[0], build.loss_weights_of(variant))
        compiled = evaluate.lower(*args).compile()
        cases.append(common.Case(name, "loss + gradient",
                                 lambda c=compiled, a=args: jax.block_until_ready(c(*a))))
    common.time_round_robin(cases, repeats)
    plain = statistics.median(cases[0].times)
    return [{"control": case.impl, "ms": 1e3 * statistics.median(case.times),
             "ratio": statistics.median(case.times) / plain} for case in cases]


def stylize(content, style, config: StyleConfig):
    """gatys_jax.stylize, ending the benchmark if a signal cut the run short."""
    return experiment.completed(gatys_jax.stylize(content, style, config))


def pictures(config: StyleConfig, folder: Path) -> dict:
    """Run each control's examples; save one picture per control; their measurements."""
    content = read_inputs(CONTENT, [], config.size)[0]
    out = {}
    runs = {mode: stylize(CONTENT, STYLE, config.replace(preserve_colors=mode))
            for mode in (None, "luminance", "histogram")}
    out["colours"] = {str(mode or "plain"): colors.chroma_distance(r.image, content)
                      for mode, r in runs.items()}
    save(folder / "colours.jpg", [content, inputs.read(STYLE)] + [r.image for r in runs.values()],
         ["photograph", "painting", "plain", "luminance", "histogram"])
    plain = runs[None].image  # blend 1:0 and style scale 1 (tests: equal to within a level)
    blends = [plain] + [experiment.completed(gatys_jax.stylize_batch(
        CONTENT, [STYLE, OTHER], config.replace(blend=w))).image for w in ((1, 1), (0, 1))]
    save(folder / "blend.jpg", blends, ["starry night", "half and half", "shipwreck"])
    scaled = {f: plain if f == 1.0 else
              stylize(CONTENT, STYLE, config.replace(style_scale=f)).image
              for f in (0.5, 1.0, 2.0)}
    out["style_scale"] = {f"{f:g}": quality.autocorrelation_length(image)
                          for f, image in scaled.items()}
    save(folder / "style_scale.jpg", list(scaled.values()),
         [f"style scale {f:g}" for f in scaled])
    photo, painting, content_mask, style_mask = MASKED
    unmasked = stylize(photo, painting, config).image
    masked = stylize(photo, painting, config.replace(
        content_mask=content_mask, style_mask=(style_mask,))).image
    save(folder / "masks.jpg", [inputs.read(photo), inputs.read(content_mask),
                                inputs.read(painting), inputs.read(style_mask), unmasked, masked],
         ["photograph", "its mask", "painting", "its mask", "no masks", "masks"])
    return out


def save(path: Path, row: list[np.ndarray], titles: list[str]) -> Path:
    return panel.contact_sheet(path, [[np.asarray(image, np.uint8) for image in row]], [""],
                               titles, PICTURE_BYTES)


def main(argv=None) -> int:
    defaults = StyleConfig(size=256)
    p = script.parser(__doc__, defaults, skip=(), images=False)
    p.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    p.add_argument("--pictures", default=str(script.ROOT / "docs" / "controls"),
                   help="folder for the pictures (default docs/controls)")
    script.add_docs_arguments(p, script.ROOT / "docs" / "controls.md")
    args, config = script.parse(p, argv, defaults)
    folder = Path(args.pictures)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"controls at {config.size} px\n{host.machine()}", flush=True)
    costs = cost(config, args.repeats)
    measured = pictures(config, folder)
    lines = ["| control | ms per evaluation | / plain |", "| --- | ---: | ---: |"]
    lines += [f"| {c['control']} | {c['ms']:.0f} | {c['ratio']:.2f} |" for c in costs]
    report = "\n".join([
        f"## At {config.size} px", "", host.machine() + ".", "",
        "One loss + gradient evaluation (interleaved, medians):", "", *lines, "",
        "Mean (a*, b*) distance of the output to the photograph (CIELAB): "
        + ", ".join(f"{k} {v:.1f}" for k, v in measured["colours"].items()) + ".", "",
        "Autocorrelation length of the output against the style scale: "
        + ", ".join(f"F {k}: {v:.1f} px" for k, v in measured["style_scale"].items()) + ".", "",
        *(f"![{name}](controls/{name}.jpg)" for name in ("colours", "blend", "style_scale",
                                                         "masks"))])
    print("\n" + report)
    script.write_docs(args, "Controls", "benchmarks.controls",
                      f"`{script.command_line('benchmarks.controls', argv)}`\n\n{report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
