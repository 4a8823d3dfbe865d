"""Figure 2, the algorithm: one image optimized from white noise to match the photo's content
and the painting's style at once, with its loss terms over the run.

The paper's Fig. 2 draws the algorithm: the content representation of the photo (conv4_2) and
the style representation of the painting (Gram matrices on conv1_1 ... conv5_1) are matched
together by gradient descent on the pixels of an image that starts as white noise. Here one
image runs to convergence, its image saved every --snapshot-every iterations; the start and
every snapshot are evaluated under the objective (lambda x content loss, style loss and their
sum: the optimizer's total), and the figure shows a few snapshots above the three terms
against evaluations.

Claim: the joint minimization lowers both terms from the white-noise start. Measured: each
term at the end as a fraction of its value at the start.

    python -m paper.fig2 [--quick] [--size PX] [--iterations CAP] [--snapshot-every N]
"""

from __future__ import annotations

import numpy as np

from gatys_jax import images
from gatys_jax.convention import to_uint8

from . import common

NAME = "fig2"
DEFAULTS = common.defaults(iterations=2000)  # the cap: images stop on convergence
TERM_FRACTION = 0.1  # each term ends at most this fraction of its white-noise value
SHOWN = 5  # snapshots in the figure


def snapshots_shown(iterations: list[int]) -> list[int]:
    """About SHOWN of the saved iterations, log-spaced from the first to the last."""
    if len(iterations) <= SHOWN:
        return iterations
    wanted = np.geomspace(iterations[0], iterations[-1], SHOWN)
    return sorted({min(iterations, key=lambda i: abs(np.log(i / w))) for w in wanted})


def figure(path, frames: list[tuple[str, np.ndarray]], curves: dict, title: str):
    """Snapshots in a row above the loss terms (log scale) against evaluations."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2.0 * len(frames), 5.2))
    grid = fig.add_gridspec(2, len(frames), height_ratios=(1, 1.3))
    for k, (label, image) in enumerate(frames):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(to_uint8(image))
        ax.set_title(label, fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = fig.add_subplot(grid[1, :])
    for name, (evaluations, values) in curves.items():
        ax.plot(evaluations, values, label=name, lw=1.2 if "optimizer" not in name else 0.6)
    ax.set_yscale("log")
    ax.set_xlabel("loss + gradient evaluations")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    p = common.parser(__doc__.splitlines()[0], DEFAULTS)
    p.add_argument("--snapshot-every", type=int, default=10,
                   help="save and evaluate the image every N iterations (default 10)")
    args, config = common.parse(p, argv, DEFAULTS)
    if args.snapshot_every < 1:
        p.error("--snapshot-every must be at least 1")
    exp = common.Experiment(NAME, "one image from white noise, its loss terms over the run "
                            "(Fig. 2)", args, config, style=args.style)
    content, (style,) = exp.prepare([args.style])
    evaluate = common.Evaluator(exp.vgg, content, style, config)
    lam = config.content_weight

    (start,) = exp.stylize("white-noise start", [args.style], iterations=0,
                           stop_tolerance=None).images
    output = exp.folder / "images" / "run.png"
    (entry,) = exp.stylize("run", [args.style], output=output,
                           save_every=args.snapshot_every).images
    # the solvers take one evaluation per step: iteration i has made i + 1 evaluations
    saved = {0: start.image, entry.evaluations - 1: entry.image}
    for path in output.parent.glob(f"{output.stem}_*{output.suffix}"):
        saved.setdefault(int(path.stem.rsplit("_", 1)[1]), np.asarray(images.load(path)))
    terms = []
    for iteration, image in sorted(saved.items()):
        losses = evaluate(image)
        terms.append({"iteration": iteration, "evaluations": iteration + 1,
                      "content_term": lam * losses["content_loss"],
                      "style_term": losses["style_loss"],
                      "total": lam * losses["content_loss"] + losses["style_loss"]})
    first, last = terms[0], terms[-1]
    fractions = {k: last[k] / first[k] for k in ("content_term", "style_term", "total")}

    shown = [0] + snapshots_shown(sorted(saved)[1:])
    frames = [(f"{'white noise' if i == 0 else 'final' if i == shown[-1] else 'step ' + str(i)}"
               f"\n{i + 1} evaluation{'s' if i else ''}", saved[i]) for i in shown]
    curves = {
        "lambda x content loss": ([t["evaluations"] for t in terms],
                                  [t["content_term"] for t in terms]),
        "style loss": ([t["evaluations"] for t in terms], [t["style_term"] for t in terms]),
        "total (the optimizer's, every evaluation)": (
            [h["evaluations"] for h in entry.history], [h["total_loss"] for h in entry.history]),
    }
    grid = figure(exp.folder / "grid.png", frames + [("painting", style)], curves,
                  exp.title(f"From white noise, lambda {lam:g}"))
    exp.save_image(entry.image, "final")
    claims = [common.claim(
        "both_terms_fall", "Minimizing the total loss from white noise lowers both the content "
        "and the style term", f"at the end, each term is at most {TERM_FRACTION} x its value "
        "at the white-noise start", {"start": first, "end": last, "fractions": fractions},
        f"content term x{fractions['content_term']:.3g}, style term "
        f"x{fractions['style_term']:.3g} of the start's ({first['content_term']:.3g} -> "
        f"{last['content_term']:.3g}, {first['style_term']:.3g} -> {last['style_term']:.3g})",
        fractions["content_term"] <= TERM_FRACTION and fractions["style_term"] <= TERM_FRACTION)]
    return exp.finish(claims, terms, grid)


if __name__ == "__main__":
    main()
