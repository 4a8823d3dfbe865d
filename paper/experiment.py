"""One paper script's experiment: the runs it makes (saved under results/<name>/runs/ and
resumed from there), the images it records, and its metrics.json: per image the evaluations
it took and whether it converged (paper.settings has the rules), and the claims
(paper.claims) judged on that.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import sys
import time
from pathlib import Path
from typing import NoReturn, Sequence

import jax
import numpy as np

from gatys_jax import build, checkpoints
from gatys_jax.config import StyleConfig
from gatys_jax.io import images, inputs, paths
from gatys_jax.jobs import job_product
from gatys_jax.outputs import Result
from gatys_jax.plan import plan_batch
from gatys_jax.problem import read_inputs
from gatys_jax.progress_bar import Progress
from gatys_jax.transfer import stylize_batch
from gatys_jax.weights import h5
from lab import host
from lab.measures import grain

from . import saved_runs
from .claims import image_id, judged
from .evaluator import Evaluator

INTERRUPTED = 130  # exit status of an experiment stopped by a signal (scripts stop on it)


class Experiment:
    """One script's run: its folder, settings, weights, timing, the runs it made and its
    metrics.json."""

    def __init__(self, name: str, description: str, args: argparse.Namespace,
                 config: StyleConfig, **settings):
        self.name, self.description, self.args, self.config = name, description, args, config
        self.start = time.perf_counter()
        self.folder = Path(args.out) / name
        (self.folder / "images").mkdir(parents=True, exist_ok=True)
        self.vgg = h5.resolve(config.weights)
        self.runs: list[dict] = []
        # per image: its run, evaluations and convergence (None: run without the rule)
        self.images: list[dict] = []
        # one Evaluator per style and objective, shared by the images and lambdas that use it
        self.evaluators: dict[tuple, Evaluator] = {}
        self.settings = {**config.to_json(), "content": args.content,
                         "weights": str(config.weights or paths.plain_weights()),
                         **settings}

    def prepare(self, styles: Sequence) -> tuple[np.ndarray, list[np.ndarray]]:
        """(content, styles) as RGB float arrays (H, W, 3) exactly as stylize_batch prepares
        them."""
        return read_inputs(self.args.content, list(styles), self.config.size,
                           self.config.max_megapixels)

    def evaluator(self, style, config: StyleConfig) -> Evaluator:
        """The Evaluator of `style` (a file or sample name) under `config`'s objective and w_l,
        made once per experiment."""
        key = (style, build.objective_of(config), config.layer_weights)
        if key not in self.evaluators:
            content, (style_rgb,) = self.prepare([style])
            self.evaluators[key] = Evaluator(self.vgg, content, style_rgb, config)
        return self.evaluators[key]

    @property
    def batched(self) -> bool:
        """Whether a run of several images optimizes them together (--batching)."""
        if self.args.batching == "auto":
            return jax.default_backend() != "cpu"
        return self.args.batching == "on"

    def stylize(self, label: str, styles: Sequence, *, content_weights=None, seeds=None,
                **changes) -> Result:
        """stylize_batch of the content with `styles` and the experiment's settings with
        `changes`: one image per (style, content weight, seed), optimized together, or, with
        batching off, one at a time as runs of their own, labelled `label` and what varies
        (merged). Each run's summary (times, batch layout, settings) and each image's
        evaluations and convergence are recorded, the images under `label`. A finished run is
        saved under runs/ and a rerun with the same request loads it, or copies another
        experiment's run of that request (unless --fresh); a converged one also answers any
        cap at which it would end the same (saved_runs). While it runs, its optimizer's state
        is kept in runs/ (a checkpoint, if the run takes one batch): a run stopped by a signal
        or a lost machine goes on from it at the next command, one that reached its cap
        unconverged under a higher cap; an interrupted run ends the experiment. Finishing
        these images one way drops the checkpoints the other way (--batching) left."""
        config = self.config.replace(**changes)
        parts = self.parts(label, styles, config, content_weights, seeds)
        if not parts or self.batched:
            result = self.run(label, styles, config, content_weights, seeds)
            others = [part[0] for part in parts]
        else:
            result = merged([self.run(*part) for part in parts])
            others = [label]
        # a checkpoint left by the other way of running these images (--batching) would
        # otherwise stay in runs/ for good
        for other in others:
            saved_runs.drop_checkpoints(self.folder, other)
        for index, entry in enumerate(result.images):
            self.record_image(label, index, entry.image, entry.evaluations, entry.converged,
                              style=entry.style, content_weight=entry.config.content_weight,
                              seed=entry.config.seed,
                              saved_loss_ratio=self.saved_loss_ratio(entry))
        return result

    @staticmethod
    def parts(label: str, styles: Sequence, config: StyleConfig, content_weights,
              seeds) -> list[tuple[str, list, StyleConfig]]:
        """(label, styles, config) of each image of a stylize call as a run of its own,
        labelled `label` and what varies; none for a call of one image."""
        # a blend's styles make one target together
        targets = [list(styles)] if config.blend is not None else [[style] for style in styles]
        jobs = job_product(config, len(targets), content_weights or (config.content_weight,),
                           seeds or (config.seed,))
        parts = []
        for job in jobs if len(jobs) > 1 else ():
            varies = [inputs.name_of(targets[job.style][0])] if len(targets) > 1 else []
            varies += [f"lambda {job.config.content_weight:g}"] if content_weights else []
            varies += [f"seed {job.config.seed}"] if seeds else []
            parts.append((", ".join([label, *varies]), targets[job.style], job.config))
        return parts

    def saved_loss_ratio(self, entry) -> float | None:
        """The total loss of `entry`'s picture as saved (8 bits: rounded, clipped to 0..255)
        over the optimizer's at its last iterate, whose pixels may lie outside 0..255; None
        for a blend or regions of styles, whose targets are not one style's, and for a loss
        of 0."""
        config = entry.config
        if config.blend is not None or config.content_mask is not None:
            return None
        optimized = entry.losses["total_loss"]
        saved = self.evaluator(entry.style, config).total(entry.image, config)
        return saved / optimized if optimized > 0 else None

    def run(self, label: str, styles: Sequence, config: StyleConfig, content_weights=None,
            seeds=None) -> Result:
        """One stylize_batch call (see stylize), saved as run `label`, or loaded."""
        start = time.perf_counter()
        content, style_rgbs = self.prepare(styles)
        asked = self.request(label, config, [content, *style_rgbs], content_weights, seeds)
        result, copied_from = self.saved(asked, config)
        resumed = result is not None
        if not resumed:
            result = self.optimize(label, styles, config, asked, content_weights, seeds)
        self.runs.append({
            "label": label, "images": len(result.images), "wall_seconds": result.wall_seconds,
            "compile_seconds": result.compile_seconds, "batch_size": result.batch_size,
            "batches": result.batches, "evaluations": result.evaluations,
            "seconds_with_setup": time.perf_counter() - start, "resumed": resumed,
            "copied_from": (None if copied_from is None
                            else str(copied_from.relative_to(self.folder.parent))),
            "settings": result.to_json()["settings"]})
        converged = sum(bool(e.converged) for e in result.images)
        print(f"[{self.name}] {label}: {len(result.images)} image(s), {result.evaluations} "
              f"evaluations, {result.wall_seconds:.1f} s (+{result.compile_seconds:.1f} s "
              f"compile), {converged} converged"
              + (f", copied from {copied_from}" if copied_from
                 else ", saved earlier" if resumed else ""), flush=True)
        return result

    def saved(self, asked: dict, config: StyleConfig) -> tuple[Result | None, Path | None]:
        """(the saved run that answers request `asked`, the run file it was copied from when
        another experiment saved it), or (None, None) when there is none or under --fresh."""
        if self.args.fresh:
            return None, None
        result = saved_runs.load(self.folder, asked, config)
        found = None if result else saved_runs.find_elsewhere(self.folder.parent, asked, config)
        if not found:
            return result, None
        copied_from, result = found
        saved_runs.save(self.folder, asked, result)
        return result, copied_from

    def optimize(self, label: str, styles: Sequence, config: StyleConfig, asked: dict,
                 content_weights, seeds) -> Result:
        """Run `label` (stylize_batch), from its checkpoint if it has one, and save it; an
        interrupted run ends the experiment."""
        if self.args.fresh:
            saved_runs.drop_checkpoints(self.folder, label)
        checkpoint = saved_runs.checkpoint_path(self.folder, asked)
        checkpoint.parent.mkdir(exist_ok=True)
        planned = plan_batch(self.args.content, list(styles), config,
                             content_weights=content_weights, seeds=seeds,
                             convention=self.vgg.convention)
        with self.progress(config.iterations) as progress:
            result = stylize_batch(self.args.content, list(styles), config,
                                   content_weights=content_weights, seeds=seeds,
                                   on_update=progress, vgg=self.vgg,
                                   checkpoint=checkpoint if planned.batches == 1 else None)
        if result.interrupted:
            self.stop_interrupted(label)
        saved_runs.save(self.folder, asked, result)
        return result

    def request(self, label: str, config: StyleConfig, prepared: Sequence[np.ndarray],
                content_weights=None, seeds=None) -> dict:
        """What identifies run `label` among the saved runs (saved_runs.request): its
        settings, this experiment's weights (by their data, not their path) and its content
        and styles as `prepare`d."""
        return saved_runs.request(label, config, checkpoints.weights_identity(self.vgg),
                                  checkpoints.pixels_digest(prepared), content_weights, seeds)

    @contextlib.contextmanager
    def progress(self, iterations: int):
        """The CLI's progress bar for one run of `iterations` (Progress: give it the
        run's events); closed when the run ends."""
        bar = Progress(iterations, enabled=True)
        try:
            yield bar
        finally:
            bar.close()

    def stop_interrupted(self, label: str) -> NoReturn:
        """End the experiment after Ctrl-C during run `label`: exit status INTERRUPTED, the
        runs finished before it kept."""
        print(f"[{self.name}] interrupted during {label!r}: the runs finished before it are "
              f"kept in {self.folder / 'runs'}; rerun the same command to go on from there",
              file=sys.stderr, flush=True)
        raise SystemExit(INTERRUPTED)

    def record_image(self, run: str, index: int, image: np.ndarray, evaluations: int,
                     converged: bool | None, **about) -> None:
        """Note one image's evaluations, convergence and grain (for metrics.json and the
        claims)."""
        self.images.append({"run": run, "index": index, **about, "evaluations": evaluations,
                            "converged": converged, **grain(image)})

    def unconverged(self) -> list[str]:
        """The images that reached the cap before converging, as image_id."""
        return [image_id(i["run"], i["index"]) for i in self.images if i["converged"] is False]

    def title(self, what: str) -> str:
        """A grid's title: `what`, the optimizer and how many images converged."""
        name = "L-BFGS" if self.config.optimizer == "lbfgs" else self.config.optimizer
        tolerance, pixels = self.config.stop_tolerance, self.config.stop_pixels
        if tolerance is None and pixels is None:
            return f"{what}, {self.config.iterations} {name} iterations"
        rules = ([f"the loss changes < {tolerance:.1%}"] if tolerance else []) + (
            [f"the image moves < {pixels:g} grey levels"] if pixels else [])
        ruled = [i["converged"] for i in self.images if i["converged"] is not None]
        return (f"{what}, {name} until {' or '.join(rules)} over {self.config.stop_window} "
                f"evaluations ({sum(ruled)}/{len(ruled)} converged within "
                f"{self.config.iterations} iterations)")

    def save_image(self, image: np.ndarray, name: str) -> str:
        """Save a picture as images/<name>.png; returns its path within the folder."""
        path = self.folder / "images" / f"{name}.png"
        images.save(image, path)
        return str(path.relative_to(self.folder))

    def finish(self, claims: list[dict], results, grid: Path, **extra) -> dict:
        """Judge the claims (those resting on convergence are not judged when an image did not
        converge), write metrics.json and report."""
        unconverged = self.unconverged()
        claims = [judged(c, unconverged) for c in claims]
        metrics = jsonable({
            "experiment": self.name, "description": self.description,
            "settings": self.settings, "claims": claims, "results": results,
            "images": self.images, "converged": not unconverged,
            "photo_grain": grain(self.prepare([])[0]),
            "grid": str(Path(grid).relative_to(self.folder)), "runs": self.runs,
            "wall_seconds": time.perf_counter() - self.start,
            "backend": jax.default_backend(), "device": str(jax.devices()[0].device_kind),
            "machine": host.hardware(), "date": datetime.date.today().isoformat(),
            **extra})
        (self.folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        for c in claims:
            verdict = {True: "SUPPORTED", False: "NOT SUPPORTED", None: "NOT JUDGED"}[
                c["supported"]]
            print(f"[{self.name}] {verdict}: {c['claim']} -- {c['summary']}", flush=True)
        print(f"[{self.name}] wrote {self.folder} in {metrics['wall_seconds']:.0f} s", flush=True)
        return metrics


def merged(results: Sequence[Result]) -> Result:
    """Runs of one image each, one after another, as one Result: their images in order, the
    batch layout (one image per batch) and their times summed."""
    first = results[0]
    images = [entry for result in results for entry in result.images]
    lists = {"styles": list(dict.fromkeys(e.style for e in images)),
             "content_weights": list(dict.fromkeys(e.config.content_weight for e in images)),
             "seeds": list(dict.fromkeys(e.config.seed for e in images))}
    return dataclasses.replace(
        first, images=images, facts={**first.facts, **lists},
        iterations=max(r.iterations for r in results),
        wall_seconds=sum(r.wall_seconds for r in results),
        compile_seconds=sum(r.compile_seconds for r in results), batch_size=1,
        batches=sum(r.batches for r in results),
        references={k: v for r in results for k, v in r.references.items()})


def jsonable(value):
    """numpy scalars/arrays and Paths -> plain JSON values (non-finite floats -> None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value
