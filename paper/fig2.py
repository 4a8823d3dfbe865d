"""Figure 2, the algorithm: one image optimized from white noise to match the photo's content
and the painting's style at once, with its loss terms over the run.

The paper's Fig. 2 draws the algorithm: the content representation of the photo (conv4_2) and
the style representation of the painting (Gram matrices on conv1_1 ... conv5_1) are matched
together by gradient descent on the pixels of an image that starts as white noise. Here one
image runs to convergence (the solver driven as stylize drives it); every --snapshot-every
iterations its iterate, as the optimizer holds it (not clipped to 8 bits), is evaluated under
the objective (lambda x content loss, style loss and their sum: the optimizer's total), and
the figure shows a few snapshots above the three terms against evaluations. The finished run
(its terms, curve and the snapshots shown) is kept under runs/, so the same command later
draws the figure again without optimizing (--fresh optimizes again); Ctrl-C keeps nothing.

Claim: the joint minimization lowers both terms from the white-noise start. Measured: each
term at the end as a fraction of its value at the start.

    python -m paper.fig2 [--quick] [--size PX] [--iterations CAP] [--snapshot-every N]
"""

from __future__ import annotations

import time

import jax.numpy as jnp
import numpy as np

from gatys_jax import build, checkpoints
from gatys_jax.engine import driver
from gatys_jax.io.images import to_uint8
from gatys_jax.model.convention import from_network
from lab.experiment import device_arguments

from . import common, saved_runs

NAME = "fig2"
DEFAULTS = common.defaults()  # capped at common.CAP: images stop on convergence
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


def optimize(exp: common.Experiment, evaluate: common.Evaluator, snapshot_every: int,
             keeper: checkpoints.Checkpoint) -> tuple[dict, list[int], np.ndarray]:
    """Run the image from white noise to convergence or the cap, evaluating its terms every
    `snapshot_every` iterations: (record, the iterations shown, their uint8 RGB images
    (n, H, W, 3)). The record holds the terms at each snapshot, the optimizer's history, the
    evaluations made, convergence, the last iteration, the steps per compiled call and the
    run's seconds. The run goes on from `keeper`'s checkpoint if there is one and keeps its
    state, terms and snapshots there as it goes, and at the end when it reached the cap
    unconverged (a higher cap goes on from it); Ctrl-C saves it and ends the experiment
    (exit status 130)."""
    config, problem = exp.config, evaluate.problem  # the objective the terms are measured with
    lam = config.content_weight
    arguments = device_arguments(problem, config)
    solver = build.solver_of(config)
    x0 = jnp.asarray(problem.x0(config))
    compiled = driver.compile(solver, problem.objective, x0, *arguments)
    resumed = keeper.load()
    if resumed:
        terms, trace = resumed.notes["terms"], driver.Trace.restore(resumed.trace)
        saved = dict(zip(resumed.arrays["iterations"].tolist(), resumed.arrays["frames"]))
        state = driver.restore(compiled, resumed.leaves)
        start = time.perf_counter() - resumed.notes["seconds"]
    else:
        terms, trace, saved = [], driver.Trace(time.perf_counter()), {}
        state, start = None, time.perf_counter()

    def kept(state) -> tuple:
        """What a checkpoint keeps at `state`: Checkpoint.save's arguments."""
        return (state, trace, {"terms": terms, "seconds": time.perf_counter() - start},
                {"iterations": np.array(sorted(saved)),
                 "frames": np.stack([saved[i] for i in sorted(saved)])})

    with exp.progress(config.iterations) as progress:

        def snapshot(state, row) -> None:
            """The terms and the picture at `state`."""
            losses = evaluate.at(state.x)
            terms.append({"iteration": int(state.iteration), "evaluations": int(row[0][0]),
                          "content_term": lam * losses["content_loss"],
                          "style_term": losses["style_loss"],
                          "total": lam * losses["content_loss"] + losses["style_loss"]})
            saved[int(state.iteration)] = problem.to_rgb(state.x)

        def update(state, row) -> None:
            iteration = int(state.iteration)
            progress({"phase": "run", "chunk": 0, "chunks": 1, "scale": 0, "scales": 1,
                      "iteration": iteration, "evaluations": int(row[0][0]),
                      "total_loss": float(row[1][0]), "seconds": row[2]})
            # the start, then once each multiple of snapshot_every is passed
            if iteration == 0 or iteration // snapshot_every != len(saved) - 1:
                snapshot(state, row)
            if keeper.due():
                keeper.save_or_warn(*kept(state))

        run = driver.run(compiled, x0, arguments, config.iterations, update,
                         tolerance=config.stop_tolerance, window=config.stop_window,
                         pixels=config.stop_pixels,
                         to_pixels=lambda x: from_network(x, problem.vgg.convention),
                         trace=trace, state=state)
        final = int(run.state.iteration)
        converged = run.trace.converged(config.stop_tolerance, config.stop_window,
                                        config.stop_pixels)
        # stopped, or unconverged at the cap: a rerun, or one under a higher cap, goes on
        # from here (kept without the final snapshot: a longer run takes none there)
        if run.interrupted or (converged is not None and not converged[0]):
            keeper.save(*kept(run.state))
        if not run.interrupted and final not in saved:
            snapshot(run.state, run.trace.rows[-1])
    if run.interrupted:
        exp.stop_interrupted("run")
    shown = [0] + snapshots_shown(sorted(saved)[1:])
    record = common.jsonable({
        "terms": terms, "history": run.trace.history(), "final": final,
        "evaluations": int(run.trace.rows[-1][0][0]),
        "converged": None if converged is None else bool(converged[0]),
        "steps_per_call": compiled.chunk, "seconds": time.perf_counter() - start})
    return record, shown, np.stack([saved[i] for i in shown])


def saved_run(loaded: tuple[dict, dict] | None) -> tuple[dict, list[int], np.ndarray] | None:
    """optimize's (record, shown, images) from saved_runs.load_record's answer, or None when
    there is none or it is incomplete."""
    if loaded is None:
        return None
    record, arrays = loaded
    keys = {"terms", "history", "final", "evaluations", "converged", "seconds"}
    if not keys <= record.keys() or not {"iterations", "frames"} <= arrays.keys():
        return None
    shown, frames = arrays["iterations"].tolist(), arrays["frames"]
    at = {t["iteration"] for t in record["terms"]}
    if (not shown or len(shown) != len(frames) or shown[-1] != record["final"]
            or not set(shown) <= at):
        return None
    return record, shown, frames


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
    asked = {**exp.request("run", config, [content, style]),
             "snapshot_every": args.snapshot_every}
    kept = None if args.fresh else saved_run(saved_runs.load_record(exp.folder, asked))
    if kept is None:
        if args.fresh:
            saved_runs.drop_checkpoints(exp.folder, "run")
        keeper = checkpoints.Checkpoint(
            saved_runs.checkpoint_path(exp.folder, asked),
            checkpoints.run_key(config, checkpoints.weights_identity(exp.vgg), [content, style],
                                snapshot_every=args.snapshot_every))
        keeper.path.parent.mkdir(exist_ok=True)
        record, shown, frames = optimize(exp, evaluate, args.snapshot_every, keeper)
        saved_runs.save_record(
            exp.folder, asked, record, same_from_cap=saved_runs.same_from_cap(
                record["converged"], record["final"], record["steps_per_call"],
                config.iterations),
            ends_unconverged=record["converged"] is False, iterations=np.array(shown),
            frames=frames)
    else:
        record, shown, frames = kept
    final, terms, history = record["final"], record["terms"], record["history"]
    first, last = terms[0], terms[-1]
    # the picture as saved (8 bits, clipped to 0..255) against the optimizer's last iterate
    exp.record_image("run", 0, frames[-1], record["evaluations"], record["converged"],
                     saved_loss_ratio=evaluate.total(frames[-1], config) / last["total"])
    exp.runs.append({"label": "run", "images": 1, "evaluations": record["evaluations"],
                     "wall_seconds": record["seconds"], "resumed": kept is not None})
    fractions = {k: last[k] / first[k] for k in ("content_term", "style_term", "total")}

    evaluations_at = {t["iteration"]: t["evaluations"] for t in terms}
    labelled = [(f"{'white noise' if i == 0 else 'final' if i == final else 'step ' + str(i)}"
                 f"\n{evaluations_at[i]} evaluation{'s' if i else ''}", image)
                for i, image in zip(shown, frames)]
    curves = {
        "lambda x content loss": ([t["evaluations"] for t in terms],
                                  [t["content_term"] for t in terms]),
        "style loss": ([t["evaluations"] for t in terms], [t["style_term"] for t in terms]),
        "total (every evaluation)": (
            [h["evaluations"] for h in history], [h["total_loss"] for h in history]),
    }
    grid = figure(exp.folder / "grid.png", labelled + [("painting", style)], curves,
                  exp.title(f"From white noise, lambda {config.content_weight:g}"))
    exp.save_image(frames[-1], "final")
    claims = [common.claim(
        "both_terms_fall", "Minimizing the total loss from white noise lowers both the content "
        "and the style term", f"at the end, each term is at most {TERM_FRACTION} x its value "
        "at the white-noise start", {"start": first, "end": last, "fractions": fractions},
        f"content term x{fractions['content_term']:.3g}, style term "
        f"x{fractions['style_term']:.3g} of the start's ({first['content_term']:.3g} -> "
        f"{last['content_term']:.3g}, {first['style_term']:.3g} -> {last['style_term']:.3g})",
        fractions["content_term"] <= TERM_FRACTION and fractions["style_term"] <= TERM_FRACTION)]
    return exp.finish(claims, terms, grid, history=history)


if __name__ == "__main__":
    main()
