"""Initialization (paper, section 2.3 / Fig. 6): the same settings started from white noise
(two seeds, one batched call with --batching on), from the content photo and from the
painting, each run to convergence; and two short runs from the content photo, which repeat
each other exactly.

Claims: the final loss hardly depends on the initialization; a fixed image initialization
gives the same output every run; noise with different seeds gives different images. Measured:
the final losses, bitwise equality of the two short content-initialized runs (uint8 images
and the float loss history), the mean absolute pixel distance between the two noise seeds, and
how far apart the converged pictures, the photo and the painting are at the scale of their
layout (quality.layout_difference: pixel-scale grain, different in every run, hidden by a
blur of the long side / 32). The experiment is named for the setting it varies (init): it
writes results/init/.

    python -m paper.start [--quick] [--size PX] [--iterations CAP] [--style ...]
"""

from __future__ import annotations

import itertools

import numpy as np

from gatys_jax import quality
from gatys_jax.outputs import ImageResult
from lab.figures import save_grid
from lab.measures import mean_abs_difference

from .claims import claim
from .experiment import Experiment
from .settings import defaults, parse, parser

NAME = "init"
DEFAULTS = defaults()  # capped at settings.CAP: images stop on convergence
LOSS_SPREAD = 0.25  # (max - min) / min of the final total losses
DIFFERENT = 5.0  # mean |difference| in 0..255 levels that counts as a different image
# a repeat differs from its first evaluation on, if it differs at all: the repeated pair
# runs this many iterations, without the convergence rules, instead of twice to convergence
REPEAT_ITERATIONS = 100


def setup(argv) -> tuple[Experiment, tuple[int, int]]:
    """The experiment the command line `argv` asks for, and its two noise seeds."""
    p = parser(__doc__.splitlines()[0], DEFAULTS)
    args, config = parse(p, argv, DEFAULTS)
    seeds = (config.seed, config.seed + 1)
    exp = Experiment(NAME, "noise vs content vs style initialization (section 2.3)", args,
                     config, style=args.style, noise_seeds=list(seeds))
    return exp, seeds


def run_starts(exp: Experiment, seeds: tuple[int, int], noise_label: str
               ) -> tuple[dict[str, ImageResult], list[ImageResult]]:
    """({start: its image run to convergence}, the two short runs from the photo)."""
    style = exp.args.style
    noise = exp.stylize(noise_label, [style], seeds=seeds, init="noise")
    runs = {f"noise_seed{s}": entry for s, entry in zip(seeds, noise.images)}
    for init in ("content", "style"):
        (runs[init],) = exp.stylize(init, [style], init=init).images
    repeats = [exp.stylize(name, [style], init="content",
                           iterations=min(REPEAT_ITERATIONS, exp.config.iterations),
                           stop_tolerance=None, stop_pixels=None).images[0]
               for name in ("content, repeat 1", "content, repeat 2")]
    return runs, repeats


def distances_of(runs: dict[str, ImageResult], repeats: list[ImageResult],
                 seeds: tuple[int, int]) -> dict[str, float]:
    """Mean |pixel difference| (grey levels) between the noise seeds, the repeats and the
    starts."""
    a, b = repeats
    n0, n1 = (runs[f"noise_seed{s}"].image for s in seeds)
    content, style = runs["content"].image, runs["style"].image
    return {"noise_seeds": mean_abs_difference(n0, n1),
            "content_runs": mean_abs_difference(a.image, b.image),
            "noise_vs_content": mean_abs_difference(n0, content),
            "noise_vs_style": mean_abs_difference(n0, style),
            "content_vs_style": mean_abs_difference(content, style)}


def layouts_of(exp: Experiment, runs: dict[str, ImageResult]) -> tuple[dict[str, float], float]:
    """How far apart each pair of the converged pictures, the photo and the painting are at
    the scale of their layout (quality.layout_difference, grey levels): ({"one vs other":
    difference}, the blur's sigma in px)."""
    photo, (painting,) = exp.prepare([exp.args.style])
    pictures = {**{name: entry.image for name, entry in runs.items()},
                "photo": photo, "painting": painting}
    blur = max(photo.shape[:2]) / 32.0
    layout = {f"{one} vs {other}": quality.layout_difference(pictures[one], pictures[other], blur)
              for one, other in itertools.combinations(pictures, 2)}
    return layout, blur


def claims_of(runs: dict[str, ImageResult], repeats: list[ImageResult], seeds, noise_label: str,
              distances: dict[str, float], layout: dict[str, float]) -> list[dict]:
    """The final loss independent of the start, a fixed start deterministic, noise seeds
    different."""
    finals = {name: entry.losses["total_loss"] for name, entry in runs.items()}
    spread = (max(finals.values()) - min(finals.values())) / min(finals.values())
    between_starts = [layout[f"{one} vs {other}"] for one, other in itertools.combinations(runs, 2)]
    a, b = repeats
    same_image = bool(np.array_equal(a.image, b.image))
    same_history = [h["total_loss"] for h in a.history] == [h["total_loss"] for h in b.history]
    distance = distances["noise_seeds"]
    return [
        claim(
            "final_loss_independent_of_init", "The final loss hardly depends on the "
            "initialization", f"(max - min) / min of the final total losses of the noise (2 "
            f"seeds), content and style initializations <= {LOSS_SPREAD}",
            {"final_total_loss": finals, "relative_spread": spread,
             "layout_difference": layout},
            ", ".join(f"{k} {v:.3g}" for k, v in finals.items()) + f" (spread {spread:.0%}); "
            f"the pictures {min(between_starts):.1f}-{max(between_starts):.1f} levels apart at "
            f"layout scale (photo vs painting {layout['photo vs painting']:.1f})",
            spread <= LOSS_SPREAD),
        claim(
            "fixed_init_deterministic", "A fixed image initialization gives the same output "
            "every run", f"two runs of {REPEAT_ITERATIONS} iterations initialized with the content "
            "photo give identical uint8 images and bitwise identical float loss histories",
            {"identical_images": same_image, "identical_loss_history": same_history,
             "mean_abs_difference": distances["content_runs"]},
            f"images identical: {same_image}, loss histories identical: {same_history}",
            same_image and same_history, needs_convergence=False),
        claim(
            "noise_seeds_differ", "White noise with different seeds gives different images",
            f"mean |pixel difference| between the two seeds' results >= {DIFFERENT} (of 255)",
            {"mean_abs_difference": distances},
            f"seed {seeds[0]} vs {seeds[1]}: {distance:.1f} levels (content-init repeat: "
            f"{distances['content_runs']:.1f})", distance >= DIFFERENT, runs=[noise_label]),
    ]


def main(argv=None) -> dict:
    exp, seeds = setup(argv)
    noise_label = f"noise, seeds {seeds}"
    runs, repeats = run_starts(exp, seeds, noise_label)
    results = [{"run": name, "image": exp.save_image(entry.image, name),
                "total_loss": entry.losses["total_loss"],
                "content_loss": entry.losses["content_loss"],
                "style_loss": entry.losses["style_loss"],
                "initial_total_loss": entry.history[0]["total_loss"]}
               for name, entry in runs.items()]
    distances = distances_of(runs, repeats, seeds)
    layout, blur = layouts_of(exp, runs)
    grid = save_grid(
        exp.folder / "grid.png", [[entry.image for entry in runs.values()]],
        col_labels=[f"{k}\nloss {e.losses['total_loss']:.3g}" for k, e in runs.items()],
        title=exp.title(f"Initialization, lambda {exp.config.content_weight:g}"))
    claims = claims_of(runs, repeats, seeds, noise_label, distances, layout)
    return exp.finish(claims, results, grid, distances=distances, layout_differences=layout,
                      blur_sigma_px=blur)


if __name__ == "__main__":
    main()
