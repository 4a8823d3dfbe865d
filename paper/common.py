"""What the paper scripts share: their arguments and StyleConfig, the runs and metrics.json of
an experiment, claims, the losses of any image (Evaluator) and labelled image grids.

Every module of this package regenerates one figure of Gatys et al. (2016) into
results/<name>/ (a PNG grid, the single images and a metrics.json) and measures the claim the
figure makes, with the image statistics of gatys_jax.quality. Every image runs until it
converges (its total loss changed by less than STOP_TOLERANCE, or its picture by less than
STOP_PIXELS grey levels, over its last STOP_WINDOW evaluations) or reaches the script's cap
of iterations; metrics.json records, per image, the
evaluations it took and whether it converged. A claim is a dict written before the numbers
are seen:

    {"id", "claim", "criterion", "measured": {...}, "summary": "short text",
     "supported": True | False | None, "needs_convergence": bool,
     "runs": [run labels or image ids it rests on] | None (all), "unconverged": [images]}

and is reported as measured: supported or not, or not judged (supported None) when an image
it rests on did not converge, since an unconverged image is evidence neither way. A trend
across images (layers, lambdas) rests on those of its images that converged, when at least
MIN_TREND_POINTS did (`trend`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import sys
import textwrap
import time
from pathlib import Path
from typing import NoReturn, Sequence

import jax
import numpy as np

from gatys_jax import build, checkpoints, quality
from gatys_jax.cli import flags
from gatys_jax.cli.progress_bar import Progress
from gatys_jax.config import DEFAULT_STYLE_LAYERS, StyleConfig
from gatys_jax.io import images, inputs, paths
from gatys_jax.io.images import to_uint8
from gatys_jax.jobs import job_product
from gatys_jax.model.objective import loss_weights
from gatys_jax.outputs import Result
from gatys_jax.plan import plan_batch
from gatys_jax.problem import build_problem, read_inputs
from gatys_jax.transfer import stylize_batch
from gatys_jax.weights import h5
from lab import host, script

from . import saved_runs

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
CONTENT, STYLE = "chelsea", "starry_night"  # a photograph and a painting (gatys-jax samples)
CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
STYLE_LAYERS = DEFAULT_STYLE_LAYERS
# Figure 1 and 4 rows: conv1_1; conv1_1+conv2_1; ... conv1_1..conv5_1
STYLE_SUBSETS = tuple(STYLE_LAYERS[: k + 1] for k in range(len(STYLE_LAYERS)))
# every experiment fixes its initialization; the scripts save their images themselves
SKIP = ("init", "save_every")
FULL_SIZE, QUICK_SIZE = 512, 256  # long side, px: the paper's size; --quick (a CPU's)
STOP_TOLERANCE, STOP_WINDOW = 1e-3, 100  # converged: < 0.1% change over 100 evaluations
# ... or the picture stopped changing: it moved < 0.1 grey levels (RMS) over 100 evaluations.
# A reconstruction's loss falls towards zero by a steady fraction per window for as long as
# it runs, so the relative rule alone never ends it, long after its picture has settled.
STOP_PIXELS = 0.1
# from white noise the loss settles only after many thousands of evaluations (docs/paper.md),
# so the cap sits well above that: it catches runs that never settle
CAP = 16000  # iterations
# a reconstruction (Fig. 1), or an image whose style term all but outweighs its content
# term (Fig. 4's smaller lambdas), approaches a picture its network hardly sees, in
# directions that settle slowly (a style reconstruction on all five layers slowest of all);
# a content reconstruction's evaluations cost a fraction of a whole network's
RECONSTRUCTION_CAP = 4 * CAP  # iterations
RANK_CORRELATION = 0.8  # |Spearman rho| at least this counts as a trend
MIN_TREND_POINTS = 3  # a rank correlation or a monotone run over fewer images says nothing
# the scale of an image's structures (quality.scale_measures), and their short names
SCALE_MEASURES = {"autocorrelation_length_px": "acl", "spectral_wavelength_px": "wavelength"}
INTERRUPTED = 130  # exit status of an experiment stopped by a signal (scripts stop on it)


def defaults(iterations: int = CAP, **changes) -> StyleConfig:
    """A script's defaults: the paper's settings at FULL_SIZE, run to convergence with
    `iterations` as the cap, and the script's `changes`."""
    return StyleConfig.paper(size=FULL_SIZE, iterations=iterations,
                             stop_tolerance=STOP_TOLERANCE, stop_pixels=STOP_PIXELS,
                             stop_window=STOP_WINDOW, **changes)


def parse(p: argparse.ArgumentParser, argv, defaults: StyleConfig
          ) -> tuple[argparse.Namespace, StyleConfig]:
    """Flags -> (args, StyleConfig), with the benchmarks' one-line errors for bad settings and
    inputs; --quick sets QUICK_SIZE unless --size is given."""
    args, config = script.parse(p, argv, defaults)
    if args.quick and not hasattr(args, "size"):
        config = config.replace(size=QUICK_SIZE)
    return args, config


def subset_label(layers: Sequence[str]) -> str:
    return layers[0] if len(layers) == 1 else f"{layers[0]}..{layers[-1]}"


def style_subsets(text: str) -> list[tuple[str, ...]]:
    """'1,3' -> [conv1_1], [conv1_1..conv3_1]: the subsets by their numbers of layers."""
    return [STYLE_SUBSETS[int(k) - 1] for k in text.split(",")]


# ------------------------------------------------------------------------------- arguments

def parser(description: str, defaults: StyleConfig, skip: Sequence[str] = (),
           style: bool = True) -> argparse.ArgumentParser:
    """--content, --style (unless not `style`), --out, --quick and the StyleConfig flags a
    paper script takes; `defaults` holds the script's own (common.defaults), `skip` the
    settings its experiment fixes."""
    p = flags.Parser(description=description)
    p.add_argument("--content", default=CONTENT,
                   help=f"content photo: a file or a sample name (default {CONTENT})")
    if style:
        p.add_argument("--style", default=STYLE,
                       help=f"painting: a file or a sample name (default {STYLE})")
    p.add_argument("--out", type=Path, default=RESULTS, help="results root (default results/)")
    p.add_argument("--fresh", action="store_true",
                   help="optimize every run again instead of loading the runs an earlier "
                        "command finished and saved under OUT/<name>/runs/")
    p.add_argument("--quick", action="store_true",
                   help=f"the CPU run: {QUICK_SIZE} px instead of the paper's {FULL_SIZE} "
                        "(unless --size is given)")
    p.add_argument("--batching", choices=("auto", "on", "off"), default="auto",
                   help="a run of several images (a row of lambdas, noise seeds): 'on' "
                        "optimizes them together in one batched program, until the last "
                        "converges; 'off' one at a time, each to its own convergence and with "
                        "its own checkpoint; 'auto' (default) is off on a CPU, where a batch "
                        "costs what its images cost one after another, else on")
    flags.add_config_arguments(p, defaults, SKIP + tuple(skip))
    return p


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
        """(content, styles) as RGB float arrays exactly as stylize_batch prepares them."""
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
        config = self.config.replace(weights=self.vgg, **changes)
        # a blend's styles make one target together
        targets = [list(styles)] if config.blend is not None else [[style] for style in styles]
        jobs = job_product(config, len(targets), content_weights or (config.content_weight,),
                             seeds or (config.seed,))
        parts = []  # (label, styles, config) of each image as a run of its own
        for job in jobs if len(jobs) > 1 else ():
            varies = [inputs.name_of(targets[job.style][0])] if len(targets) > 1 else []
            varies += [f"lambda {job.config.content_weight:g}"] if content_weights else []
            varies += [f"seed {job.config.seed}"] if seeds else []
            parts.append((", ".join([label, *varies]), targets[job.style], job.config))
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
        result, copied_from = None, None
        if not self.args.fresh:
            result = saved_runs.load(self.folder, asked, config)
            found = None if result else saved_runs.find_elsewhere(self.folder.parent, asked,
                                                                 config)
            if found:
                copied_from, result = found
                saved_runs.save(self.folder, asked, result)
        resumed = result is not None
        if not resumed:
            if self.args.fresh:
                saved_runs.drop_checkpoints(self.folder, label)
            checkpoint = saved_runs.checkpoint_path(self.folder, asked)
            checkpoint.parent.mkdir(exist_ok=True)
            planned = plan_batch(self.args.content, list(styles), config,
                                 content_weights=content_weights, seeds=seeds)
            with self.progress(config.iterations) as progress:
                result = stylize_batch(self.args.content, list(styles), config,
                                       content_weights=content_weights, seeds=seeds,
                                       on_update=progress,
                                       checkpoint=checkpoint if planned.batches == 1 else None)
            if result.interrupted:
                self.stop_interrupted(label)
            saved_runs.save(self.folder, asked, result)
        self.runs.append({
            "label": label, "images": len(result.images), "wall_seconds": result.wall_seconds,
            "compile_seconds": result.compile_seconds, "batch_size": result.batch_size,
            "chunks": result.chunks, "evaluations": result.evaluations,
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
        """The images that reached the cap before converging, as 'run #index'."""
        return [image_id(i["run"], i["index"]) for i in self.images if i["converged"] is False]

    def title(self, what: str) -> str:
        """A grid's title: `what`, the optimizer and how many images converged."""
        name = "L-BFGS" if self.config.optimizer == "lbfgs" else self.config.optimizer_name
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
        path = self.folder / "images" / f"{name}.png"
        images.save(image, path)
        return str(path.relative_to(self.folder))

    def finish(self, claims: list[dict], results, grid: Path, **extra) -> dict:
        """Judge the claims (those resting on convergence are not judged when an image did not
        converge), write metrics.json and report."""
        unconverged = self.unconverged()
        claims = [judged(c, unconverged) for c in claims]
        metrics = {
            "experiment": self.name, "description": self.description,
            "settings": self.settings, "claims": claims, "results": results,
            "images": self.images, "converged": not unconverged,
            "photo_grain": grain(self.prepare([])[0]),
            "grid": str(Path(grid).relative_to(self.folder)), "runs": self.runs,
            "wall_seconds": time.perf_counter() - self.start,
            "backend": jax.default_backend(), "device": str(jax.devices()[0].device_kind),
            "machine": host.hardware(), "date": datetime.date.today().isoformat(),
            **extra}
        metrics = jsonable(metrics)
        (self.folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        for c in claims:
            verdict = {True: "SUPPORTED", False: "NOT SUPPORTED", None: "NOT JUDGED"}[
                c["supported"]]
            print(f"[{self.name}] {verdict}: {c['claim']} -- {c['summary']}", flush=True)
        print(f"[{self.name}] wrote {self.folder} in {metrics['wall_seconds']:.0f} s", flush=True)
        return metrics


def grain(image: np.ndarray) -> dict:
    """How grainy an RGB image in 0..255 is: its speckle (quality.speckle) and the fraction of
    its colour channels at 0 or 255 (where an unbounded optimizer's pixels were clipped)."""
    pixels = to_uint8(image)
    return {"speckle": quality.speckle(pixels),
            "clipped": float(np.mean((pixels == 0) | (pixels == 255)))}


def merged(results: Sequence[Result]) -> Result:
    """Runs of one image each, one after another, as one Result: their images in order, the
    batch layout (one image per batch, a chunk each) and their times summed."""
    first = results[0]
    images = [entry for result in results for entry in result.images]
    lists = {"styles": list(dict.fromkeys(e.style for e in images)),
             "content_weights": list(dict.fromkeys(e.config.content_weight for e in images)),
             "seeds": list(dict.fromkeys(e.config.seed for e in images))}
    return dataclasses.replace(
        first, images=images, settings={**first.settings, **lists},
        iterations=max(r.iterations for r in results),
        wall_seconds=sum(r.wall_seconds for r in results),
        compile_seconds=sum(r.compile_seconds for r in results), batch_size=1,
        chunks=sum(r.chunks for r in results),
        references={k: v for r in results for k, v in r.references.items()})


def image_id(run: str, index: int) -> str:
    """How claims name an image: image `index` of run `run` (its label)."""
    return f"{run} #{index}"


def trend(entries: Sequence[dict], unconverged: Sequence[str]
          ) -> tuple[list[dict], list[str], list[str]]:
    """The points of a trend (results entries, one per image, each with its "image_id") that
    may count: those whose images converged, or all of them when fewer than MIN_TREND_POINTS
    did (a claim resting on them is then not judged). Returns (entries, their image ids, the
    ids left out)."""
    kept = [e for e in entries if e["image_id"] not in unconverged]
    if len(kept) < MIN_TREND_POINTS:
        kept = list(entries)
    ids = [e["image_id"] for e in kept]
    return kept, ids, [e["image_id"] for e in entries if e["image_id"] not in ids]


def left_out(ids: Sequence[str]) -> str:
    """A claim summary's note of the images its trend left out ('' when none)."""
    return f" (without {', '.join(ids)}: unconverged at the cap)" if ids else ""


def claim(id: str, text: str, criterion: str, measured: dict, summary: str,
          supported: bool, needs_convergence: bool = True,
          runs: Sequence[str] | None = None) -> dict:
    """A claim and its verdict, resting on the images of `runs` (run labels, or single images
    as image_id; None: every run of the experiment); one that does not rest on converged
    images (determinism, program structure) says so with needs_convergence=False."""
    return {"id": id, "claim": text, "criterion": criterion, "measured": measured,
            "summary": summary, "supported": bool(supported),
            "needs_convergence": needs_convergence,
            "runs": None if runs is None else list(runs), "unconverged": []}


def judged(claim: dict, unconverged: list[str]) -> dict:
    """The claim as reported: not judged (supported None) if it needs convergence and an image
    it rests on (an image_id in `unconverged`) did not converge."""
    if claim["runs"] is not None:
        unconverged = [u for u in unconverged
                       if u in claim["runs"] or u.rsplit(" #", 1)[0] in claim["runs"]]
    if not claim["needs_convergence"] or not unconverged:
        return claim
    return {**claim, "supported": None, "unconverged": unconverged,
            "summary": f"{claim['summary']} (not judged: {len(unconverged)} image(s) reached "
                       "the cap unconverged)"}


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


# ---------------------------------------------------------------------------- measurements

def strictly_decreasing(values: Sequence[float]) -> bool:
    return all(a > b for a, b in zip(values, values[1:]))


def strictly_increasing(values: Sequence[float]) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32))))


# one compiled program per objective and image size
_losses = jax.jit(lambda objective, *args: objective.losses(*args), static_argnums=0)


class Evaluator:
    """The losses of any RGB image against a content and a style image under `config`'s
    objective (layers, pooling, precision) with lambda = 1 and its w_l: what the optimizer
    computes, so that a result can be measured on layers it was not optimized on and a
    painting or photo can serve as a baseline."""

    def __init__(self, vgg, content_rgb: np.ndarray, style_rgb: np.ndarray, config: StyleConfig):
        self.params = jax.device_put(vgg.params)
        self.problem = build_problem(build.objective_of(config), vgg, content_rgb,
                                     [style_rgb], self.params)
        self.weights = loss_weights(1.0, config.layer_weights)

    def __call__(self, rgb: np.ndarray) -> dict:
        return self.at(self.problem.to_network(rgb))

    def parts(self, x):
        """objective.Losses of a network input (the optimizer's own iterate, not clipped to
        8 bits), on host."""
        return jax.device_get(_losses(self.problem.objective, self.params, x,
                                      self.problem.targets[0], self.weights))

    def total(self, rgb: np.ndarray, config: StyleConfig) -> float:
        """The total loss of an RGB image that `config`'s optimizer minimizes: its lambda and
        TV weight on this objective (config has the evaluator's layers and w_l)."""
        parts = self.parts(self.problem.to_network(rgb))
        return float(config.content_weight * parts.content + parts.style
                     + config.tv_weight * parts.tv)

    def at(self, x) -> dict:
        """The losses of a network input (the optimizer's own iterate, not clipped to 8 bits)."""
        objective = self.problem.objective
        parts = self.parts(x)
        out = {"style_loss": float(parts.style),
               "style_layer_losses": {l: float(v) for l, v in
                                      zip(objective.style_layers, parts.style_layers)}}
        if objective.content_layer:
            out["content_loss"] = float(parts.content)
        return out


# ------------------------------------------------------------------------------------ grids

def _fitted(label: str, height: float) -> str:
    """A row label wrapped to the panel's height in inches (about 16 characters per inch at
    7 points), breaking a layer range such as conv1_1..conv5_1 after its dots."""
    width = max(int(height * 16), 8)
    return label if len(label) <= width else textwrap.fill(label.replace("..", ".. "), width)


def save_grid(path: Path, rows: list[list[np.ndarray | None]], row_labels: Sequence[str] = (),
              col_labels: Sequence[str] = (), title: str | None = None) -> Path:
    """A labelled grid of RGB images in 0..255 (None leaves a cell empty), each shown at about
    its pixel size (at least 1.4 inches wide so that labels fit)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(im for row in rows for im in row if im is not None)
    h, w = first.shape[:2]
    panel_w = max(w / 100.0, 1.4)
    panel_h = panel_w * h / w
    nrows, ncols = len(rows), max(len(r) for r in rows)
    fig_w = ncols * panel_w + (0.4 if row_labels else 0)
    # a title wider than the figure is wrapped (about 15 characters per inch at 8 points)
    title = textwrap.fill(title, int(fig_w * 15)) if title else None
    title_h = 0.3 + 0.15 * title.count("\n") if title else 0.0
    fig_h = nrows * panel_h + 0.35 + title_h
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(fig_w, fig_h))
    for i, row in enumerate(rows):
        for j in range(ncols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            image = row[j] if j < len(row) else None
            if image is None:
                ax.axis("off")
            else:
                ax.imshow(to_uint8(image), interpolation="nearest")
            if i == 0 and j < len(col_labels):
                ax.set_title(col_labels[j], fontsize=7)
            if j == 0 and i < len(row_labels):
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_ylabel(_fitted(row_labels[i], panel_h), fontsize=7)
                if image is None:
                    for spine in ax.spines.values():
                        spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 1 - title_h / fig_h))
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
