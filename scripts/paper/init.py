"""Initialization (paper, section 2.3 / Fig. 6): the same settings started from white noise
(two seeds, one batched call), from the content photo (run twice) and from the painting.

Claims: the final loss hardly depends on the initialization; a fixed image initialization
gives the same output every run; noise with different seeds gives different images. Measured:
the final losses, bitwise equality of the two content-initialized runs (uint8 images and the
float loss history), and the mean absolute pixel distance between the two noise seeds.

    python scripts/paper/init.py [--size 256] [--iterations N] [--style ...]
"""

from __future__ import annotations

import numpy as np

import common

NAME = "init"
ITERATIONS = 60
LOSS_SPREAD = 0.25  # (max - min) / min of the final total losses
DIFFERENT = 5.0  # mean |difference| in 0..255 levels that counts as a different image


def main(argv=None) -> dict:
    p = common.parser(__doc__.splitlines()[0], ITERATIONS)
    p.add_argument("--style", default="starry_night.jpg", help="painting in --images")
    p.add_argument("--content-weight", type=float, default=1e-3, help="lambda (default 1e-3)")
    args = p.parse_args(argv)
    seeds = (args.seed, args.seed + 1)
    exp = common.Experiment(NAME, "noise vs content vs style initialization (section 2.3)",
                            args, style=args.style, content_weight=args.content_weight,
                            noise_seeds=list(seeds))
    content, (style,) = common.prepare(exp, [args.style])
    common_options = dict(content_weights=(args.content_weight,))

    noise_images, noise_run = exp.stylize(f"noise, seeds {seeds}", content, style, seeds=seeds,
                                          init="noise", **common_options)
    runs = {f"noise_seed{s}": (image, entry)
            for s, image, entry in zip(seeds, noise_images, noise_run["images"])}
    for name, init in (("content", "content"), ("content_again", "content"), ("style", "style")):
        (image,), run = exp.stylize(name, content, style, init=init, **common_options)
        runs[name] = (image, run["images"][0])

    results = []
    for name, (image, entry) in runs.items():
        results.append({"run": name, "image": exp.save_image(image, name),
                        "total_loss": entry["total_loss"], "content_loss": entry["content_loss"],
                        "style_loss": entry["style_loss"],
                        "initial_total_loss": entry["history"][0]["total_loss"]})
    finals = {r["run"]: r["total_loss"] for r in results if r["run"] != "content_again"}
    spread = (max(finals.values()) - min(finals.values())) / min(finals.values())

    (a, ea), (b, eb) = runs["content"], runs["content_again"]
    same_image = bool(np.array_equal(a, b))
    same_history = [h["total_loss"] for h in ea["history"]] == [h["total_loss"] for h in eb["history"]]
    n0, n1 = (runs[f"noise_seed{s}"][0] for s in seeds)
    distance = common.mean_abs_difference(n0, n1)
    distances = {"noise_seeds": distance,
                 "content_runs": common.mean_abs_difference(a, b),
                 "noise_vs_content": common.mean_abs_difference(n0, a),
                 "noise_vs_style": common.mean_abs_difference(n0, runs["style"][0]),
                 "content_vs_style": common.mean_abs_difference(a, runs["style"][0])}

    grid = common.save_grid(
        exp.folder / "grid.png", [[runs[k][0] for k in runs]],
        col_labels=[f"{k}\nloss {runs[k][1]['total_loss']:.3g}" for k in runs],
        title=f"Initialization, lambda {args.content_weight:g}, {args.iterations} L-BFGS iterations")
    claims = [
        common.claim(
            "final_loss_independent_of_init", "The final loss hardly depends on the "
            "initialization", f"(max - min) / min of the final total losses of the noise (2 "
            f"seeds), content and style initializations <= {LOSS_SPREAD}",
            {"final_total_loss": finals, "relative_spread": spread},
            ", ".join(f"{k} {v:.3g}" for k, v in finals.items()) + f" (spread {spread:.0%})",
            spread <= LOSS_SPREAD),
        common.claim(
            "fixed_init_deterministic", "A fixed image initialization gives the same output "
            "every run", "two runs initialized with the content photo give identical uint8 "
            "images and bitwise identical float loss histories",
            {"identical_images": same_image, "identical_loss_history": same_history,
             "mean_abs_difference": distances["content_runs"]},
            f"images identical: {same_image}, loss histories identical: {same_history}",
            same_image and same_history),
        common.claim(
            "noise_seeds_differ", "White noise with different seeds gives different images",
            f"mean |pixel difference| between the two seeds' results >= {DIFFERENT} (of 255)",
            {"mean_abs_difference": distances},
            f"seed {seeds[0]} vs {seeds[1]}: {distance:.1f} levels (content-init repeat: "
            f"{distances['content_runs']:.1f})", distance >= DIFFERENT),
    ]
    return exp.finish(claims, results, grid, distances=distances)


if __name__ == "__main__":
    main()
