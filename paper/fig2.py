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
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from gatys_jax import build, checkpoints, resumable
from gatys_jax.engine import driver
from gatys_jax.events import ProgressEvent
from gatys_jax.io.images import to_uint8
from gatys_jax.model.convention import from_network
from lab.experiment import device_arguments

from . import saved_runs
from .claims import claim
from .evaluator import Evaluator
from .experiment import Experiment, jsonable
from .settings import defaults, parse, parser

NAME = "fig2"
DEFAULTS = defaults()  # capped at settings.CAP: images stop on convergence
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


class Snapshots:
    """The terms and pictures of a run at its snapshots: {iteration: uint8 RGB} and one term
    row each (iteration, evaluations, lambda x content loss, style loss, their total)."""

    def __init__(self, evaluate, content_weight: float, resumed=None):
        self.evaluate, self.content_weight = evaluate, content_weight
        self.terms = resumed.notes["terms"] if resumed else []
        self.frames = (dict(zip(resumed.arrays["iterations"].tolist(), resumed.arrays["frames"]))
                       if resumed else {})

    def take(self, state, row: driver.TraceRow) -> None:
        losses = self.evaluate.at(state.x)
        content = self.content_weight * losses["content_loss"]
        self.terms.append({"iteration": int(state.iteration),
                           "evaluations": int(row.evaluations[0]), "content_term": content,
                           "style_term": losses["style_loss"],
                           "total": content + losses["style_loss"]})
        self.frames[int(state.iteration)] = self.evaluate.problem.to_rgb(state.x)

    def arrays(self) -> dict[str, np.ndarray]:
        """The frames as a checkpoint keeps them."""
        kept = sorted(self.frames)
        return {"iterations": np.array(kept), "frames": np.stack([self.frames[i] for i in kept])}


def optimize(exp, evaluate, snapshot_every: int,
             keeper: checkpoints.Checkpoint) -> tuple[dict, list[int], np.ndarray]:
    """Run the image from white noise to convergence or the cap, evaluating its terms every
    `snapshot_every` iterations: (record, the iterations shown, their uint8 RGB images
    (n, H, W, 3)). The record holds the terms at each snapshot, the optimizer's history, the
    evaluations made, convergence, the last iteration, the steps per compiled call and the
    run's seconds. The run is stylize's resumable one: it goes on from `keeper`'s checkpoint
    and keeps its state, terms and snapshots there as it goes, and at the end when it reached
    the cap unconverged (a higher cap goes on from it); Ctrl-C saves it and ends the
    experiment (exit status 130)."""
    config, problem = exp.config, evaluate.problem  # the objective the terms are measured with
    stop, arguments = build.stop_rule_of(config), device_arguments(problem, config)
    x0 = jnp.asarray(problem.x0(config))
    compiled = driver.compile(build.solver_of(config, problem.vgg.convention), problem.objective,
                              x0, *arguments)
    resumed = keeper.load()
    shots = Snapshots(evaluate, config.content_weight, resumed)
    start = time.perf_counter() - (resumed.notes["seconds"] if resumed else 0.0)
    with exp.progress(config.iterations) as progress:

        def update(state, row: driver.TraceRow) -> None:
            iteration = int(state.iteration)
            progress(ProgressEvent(0, 1, 0, 1, iteration, int(row.evaluations[0]),
                                   float(row.totals[0]), row.seconds))
            # the start, then once each multiple of snapshot_every is passed
            if iteration == 0 or iteration // snapshot_every != len(shots.frames) - 1:
                shots.take(state, row)

        # stopped, or unconverged at the cap: a rerun, or one under a higher cap, goes on from
        # the checkpoint (kept without the final snapshot: a longer run takes none there)
        run = resumable.run(
            compiled, x0, arguments, stop, keeper=keeper, saved=resumed,
            notes=lambda: {"terms": shots.terms, "seconds": time.perf_counter() - start},
            arrays=shots.arrays, on_update=update,
            to_pixels=lambda x: from_network(x, problem.vgg.convention),
            keep_at_end=lambda run: (ends := run.trace.converged(stop)) is not None
            and not ends[0])
        converged = run.trace.converged(stop)
        if not run.interrupted and int(run.state.iteration) not in shots.frames:
            shots.take(run.state, run.trace.rows[-1])
    if run.interrupted:
        exp.stop_interrupted("run")
    shown = [0] + snapshots_shown(sorted(shots.frames)[1:])
    record = jsonable({
        "terms": shots.terms, "history": run.trace.history(), "final": int(run.state.iteration),
        "evaluations": int(run.trace.rows[-1].evaluations[0]),
        "converged": None if converged is None else bool(converged[0]),
        "steps_per_call": compiled.steps_per_call, "seconds": time.perf_counter() - start})
    return record, shown, np.stack([shots.frames[i] for i in shown])


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


def setup(argv) -> tuple[Experiment, int]:
    """The experiment the command line `argv` asks for, and its iterations between snapshots."""
    p = parser(__doc__.splitlines()[0], DEFAULTS)
    p.add_argument("--snapshot-every", type=int, default=10,
                   help="save and evaluate the image every N iterations (default 10)")
    args, config = parse(p, argv, DEFAULTS)
    if args.snapshot_every < 1:
        p.error("--snapshot-every must be at least 1")
    exp = Experiment(NAME, "one image from white noise, its loss terms over the run (Fig. 2)",
                     args, config, style=args.style)
    return exp, args.snapshot_every


def run_or_load(exp: Experiment, evaluate: Evaluator, content: np.ndarray, style: np.ndarray,
                snapshot_every: int) -> tuple[dict, list[int], np.ndarray, bool]:
    """optimize's (record, shown, images) of the run saved for this request (`content` and
    `style` as prepared), or of a new run, saved when it ends; and whether it was saved
    earlier."""
    config = exp.config
    asked = {**exp.request("run", config, [content, style]), "snapshot_every": snapshot_every}
    kept = None if exp.args.fresh else saved_run(saved_runs.load_record(exp.folder, asked))
    if kept is not None:
        return (*kept, True)
    if exp.args.fresh:
        saved_runs.drop_checkpoints(exp.folder, "run")
    keeper = checkpoints.Checkpoint(
        saved_runs.checkpoint_path(exp.folder, asked),
        checkpoints.run_key(config, checkpoints.weights_identity(exp.vgg), [content, style],
                            snapshot_every=snapshot_every))
    keeper.path.parent.mkdir(exist_ok=True)
    record, shown, frames = optimize(exp, evaluate, snapshot_every, keeper)
    saved_runs.save_record(
        exp.folder, asked, record, same_from_cap=saved_runs.same_from_cap(
            record["converged"], record["final"], record["steps_per_call"], config.iterations),
        ends_unconverged=record["converged"] is False, iterations=np.array(shown),
        frames=frames)
    return record, shown, frames, False


def drawn(exp: Experiment, record: dict, shown: list[int], frames: np.ndarray,
          style: np.ndarray) -> Path:
    """The figure: the snapshots `shown` (`frames`) and the painting above the loss terms."""
    final, terms, history = record["final"], record["terms"], record["history"]
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
    return figure(exp.folder / "grid.png", labelled + [("painting", style)], curves,
                  exp.title(f"From white noise, lambda {exp.config.content_weight:g}"))


def claims_of(first: dict, last: dict) -> list[dict]:
    """Both terms fall from the white-noise start (`first` terms) to the end (`last`)."""
    fractions = {k: last[k] / first[k] for k in ("content_term", "style_term", "total")}
    return [claim(
        "both_terms_fall", "Minimizing the total loss from white noise lowers both the content "
        "and the style term", f"at the end, each term is at most {TERM_FRACTION} x its value "
        "at the white-noise start", {"start": first, "end": last, "fractions": fractions},
        f"content term x{fractions['content_term']:.3g}, style term "
        f"x{fractions['style_term']:.3g} of the start's ({first['content_term']:.3g} -> "
        f"{last['content_term']:.3g}, {first['style_term']:.3g} -> {last['style_term']:.3g})",
        fractions["content_term"] <= TERM_FRACTION and fractions["style_term"] <= TERM_FRACTION)]


def main(argv=None) -> dict:
    exp, snapshot_every = setup(argv)
    content, (style,) = exp.prepare([exp.args.style])
    evaluate = Evaluator(exp.vgg, content, style, exp.config)
    record, shown, frames, loaded = run_or_load(exp, evaluate, content, style, snapshot_every)
    terms = record["terms"]
    # the picture as saved (8 bits, clipped to 0..255) against the optimizer's last iterate
    exp.record_image("run", 0, frames[-1], record["evaluations"], record["converged"],
                     saved_loss_ratio=evaluate.total(frames[-1], exp.config) / terms[-1]["total"])
    exp.runs.append({"label": "run", "images": 1, "evaluations": record["evaluations"],
                     "wall_seconds": record["seconds"], "resumed": loaded})
    grid = drawn(exp, record, shown, frames, style)
    exp.save_image(frames[-1], "final")
    return exp.finish(claims_of(terms[0], terms[-1]), terms, grid, history=record["history"])


if __name__ == "__main__":
    main()
