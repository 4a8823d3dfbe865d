"""Shared pieces of the paper scripts: arguments, runs, measurements, grids, metrics.json.

Every script in scripts/paper/ regenerates one figure of Gatys et al. (2016) into
results/<name>/ (a PNG grid, the single images and a metrics.json) and measures the claim the
figure makes. A claim is a dict written before the numbers are seen:

    {"id", "claim", "criterion", "measured": {...}, "summary": "short text", "supported": bool}

and is reported as measured, supported or not.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Sequence

import jax
import numpy as np

from gatys_jax import images as images_io
from gatys_jax import losses as losses_lib
from gatys_jax.precondition import DEFAULT_EXPONENT
from gatys_jax.stylize import load_weights, prepare_images, stylize_batch

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT.parent / "shared" / "images"
RESULTS = ROOT / "results"
CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
# Figure 1 and 4 rows: conv1_1; conv1_1+conv2_1; ... conv1_1..conv5_1
STYLE_SUBSETS = tuple(STYLE_LAYERS[: k + 1] for k in range(len(STYLE_LAYERS)))


def subset_label(layers: Sequence[str]) -> str:
    return layers[0] if len(layers) == 1 else f"{layers[0]}..{layers[-1]}"


# ------------------------------------------------------------------------------- arguments

def parser(description: str, iterations: int) -> argparse.ArgumentParser:
    """Arguments every paper script takes; `iterations` is the script's default, fitted to the
    256 px, 30-minute CPU budget of scripts/reproduce_paper.sh."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--size", type=int, default=256, help="long side in px (default 256)")
    p.add_argument("--iterations", type=int, default=iterations,
                   help=f"L-BFGS iterations per image (default {iterations})")
    p.add_argument("--images", type=Path, default=IMAGES,
                   help="folder with tubingen.jpg and the paintings (default ../shared/images)")
    p.add_argument("--content", default="tubingen.jpg", help="content photo in --images")
    p.add_argument("--out", type=Path, default=RESULTS, help="results root (default results/)")
    p.add_argument("--weights", default=None, help="weight file (default: normalized VGG19)")
    p.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    p.add_argument("--history", type=int, default=100, help="L-BFGS history (default 100)")
    p.add_argument("--precondition", type=float, default=DEFAULT_EXPONENT,
                   help=f"L-BFGS preconditioner exponent, 0 for none (default {DEFAULT_EXPONENT:g})")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    return p


class Experiment:
    """One script's run: its folder, weights, timing, the runs it made and its metrics.json."""

    def __init__(self, name: str, description: str, args: argparse.Namespace, **settings):
        self.name, self.description, self.args = name, description, args
        self.start = time.perf_counter()
        self.folder = Path(args.out) / name
        (self.folder / "images").mkdir(parents=True, exist_ok=True)
        self.vgg = load_weights(args.weights)
        self.runs: list[dict] = []
        self.settings = {
            "size": args.size, "iterations": args.iterations, "optimizer": args.optimizer,
            "history": args.history, "precondition": args.precondition, "seed": args.seed,
            "content": args.content,
            "weights": args.weights or "weights/vgg19_normalized.h5", **settings}

    def path(self, name: str) -> Path:
        return Path(self.args.images) / name

    def stylize(self, label: str, content, styles, **options) -> tuple[list[np.ndarray], dict]:
        """stylize_batch with the script's size, iterations, optimizer and weights; the run's
        summary (times, batch layout, per-image losses without histories) is recorded."""
        a = self.args
        kwargs = dict(seeds=(a.seed,), size=a.size, iterations=a.iterations,
                      optimizer=a.optimizer, history=a.history, precondition=a.precondition,
                      weights=self.vgg)
        kwargs.update(options)
        if kwargs.get("style_layers") == ():
            kwargs.setdefault("style_weights", [])  # stylize_batch divides by len(style_layers)
        t = time.perf_counter()
        result, metrics = stylize_batch(content, styles, **kwargs)
        self.runs.append({
            "label": label, "images": len(result), "wall_seconds": metrics["wall_seconds"],
            "compile_seconds": metrics["compile_seconds"], "batch_size": metrics["batch_size"],
            "chunks": metrics["chunks"], "evaluations": metrics["evaluations"],
            "seconds_with_setup": time.perf_counter() - t, "settings": metrics["settings"]})
        print(f"[{self.name}] {label}: {len(result)} image(s), {metrics['evaluations']} "
              f"evaluations, {metrics['wall_seconds']:.1f} s (+{metrics['compile_seconds']:.1f} s "
              "compile)", flush=True)
        return result, metrics

    def save_image(self, image: np.ndarray, name: str) -> str:
        path = self.folder / "images" / f"{name}.png"
        images_io.save(image, path)
        return str(path.relative_to(self.folder))

    def finish(self, claims: list[dict], results, grid: Path, **extra) -> dict:
        metrics = {
            "experiment": self.name, "description": self.description,
            "settings": self.settings, "claims": claims, "results": results,
            "grid": str(Path(grid).relative_to(self.folder)), "runs": self.runs,
            "wall_seconds": time.perf_counter() - self.start,
            "backend": jax.default_backend(), "device": str(jax.devices()[0].device_kind),
            **extra}
        metrics = jsonable(metrics)
        (self.folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        for c in claims:
            verdict = "SUPPORTED" if c["supported"] else "NOT SUPPORTED"
            print(f"[{self.name}] {verdict}: {c['claim']} -- {c['summary']}", flush=True)
        print(f"[{self.name}] wrote {self.folder} in {metrics['wall_seconds']:.0f} s", flush=True)
        return metrics


def claim(id: str, text: str, criterion: str, measured: dict, summary: str,
          supported: bool) -> dict:
    return {"id": id, "claim": text, "criterion": criterion, "measured": measured,
            "summary": summary, "supported": bool(supported)}


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

def as_float(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, np.float32)


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio
    return float(peak_signal_noise_ratio(as_float(reference), as_float(image), data_range=255.0))


def ssim(image: np.ndarray, reference: np.ndarray) -> float:
    """SSIM over RGB (channel axis last), 0..255 range; the window shrinks for tiny images."""
    from skimage.metrics import structural_similarity
    win = min(7, *[s if s % 2 else s - 1 for s in image.shape[:2]])
    return float(structural_similarity(as_float(reference), as_float(image), data_range=255.0,
                                       channel_axis=-1, win_size=max(3, win)))


def luminance(image: np.ndarray) -> np.ndarray:
    rgb = as_float(image)
    return rgb @ np.asarray([0.299, 0.587, 0.114], np.float32)


def layout_correlation(image: np.ndarray, reference: np.ndarray, sigma: float) -> float:
    """Pearson correlation of the luminances after a Gaussian blur of `sigma` px: how well the
    coarse arrangement (where light and dark regions are) is kept, whatever the fine detail."""
    from scipy.ndimage import gaussian_filter
    a = gaussian_filter(luminance(image).astype(np.float64), sigma).ravel()
    b = gaussian_filter(luminance(reference).astype(np.float64), sigma).ravel()
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / denominator) if denominator > 0 else 0.0


def autocorrelation_length(image: np.ndarray) -> float:
    """Radius (px) at which the radially averaged autocorrelation of the zero-mean luminance
    first falls below 1/e (unbiased: each lag divided by its number of overlapping pixels);
    linear interpolation between integer radii. Larger = larger structures."""
    g = luminance(image).astype(np.float64)
    g -= g.mean()
    h, w = g.shape
    shape = (2 * h, 2 * w)
    power = np.abs(np.fft.rfft2(g, shape)) ** 2
    ac = np.fft.irfft2(power, shape)
    overlap = np.fft.irfft2(np.abs(np.fft.rfft2(np.ones_like(g), shape)) ** 2, shape)
    ac = ac / np.maximum(np.round(overlap), 1.0)
    ac /= ac[0, 0] if ac[0, 0] > 0 else 1.0
    dy = np.minimum(np.arange(shape[0]), shape[0] - np.arange(shape[0]))[:, None]
    dx = np.minimum(np.arange(shape[1]), shape[1] - np.arange(shape[1]))[None, :]
    radius = np.sqrt(dy ** 2 + dx ** 2)
    max_radius = min(h, w) // 2
    bins = np.round(radius).astype(int)
    keep = bins <= max_radius
    profile = (np.bincount(bins[keep], ac[keep], max_radius + 1)
               / np.maximum(np.bincount(bins[keep], None, max_radius + 1), 1))
    below = np.nonzero(profile < 1.0 / math.e)[0]
    if len(below) == 0:
        return float(max_radius)
    r = int(below[0])
    if r == 0:
        return 0.0
    a, b = profile[r - 1], profile[r]
    return float(r - 1 + (a - 1.0 / math.e) / (a - b))


def spectral_wavelength(image: np.ndarray) -> float:
    """1 / (power-weighted mean spatial frequency) in px, from the Hann-windowed zero-mean
    luminance's power spectrum (DC excluded, frequencies up to 0.5 cycles/px). Larger = more
    power in coarse structures."""
    g = luminance(image).astype(np.float64)
    g -= g.mean()
    h, w = g.shape
    g *= np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(g)) ** 2
    f = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2)
    keep = (f > 0) & (f <= 0.5)
    mean_f = float((f[keep] * power[keep]).sum() / max(power[keep].sum(), 1e-30))
    return 1.0 / mean_f if mean_f > 0 else float("inf")


def scale_measures(image: np.ndarray) -> dict:
    return {"autocorrelation_length_px": autocorrelation_length(image),
            "spectral_wavelength_px": spectral_wavelength(image)}


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    def ranks(v):
        v = np.asarray(v, np.float64)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=np.float64)
        for value in np.unique(v):  # ties share their mean rank
            r[v == value] = r[v == value].mean()
        return r
    a, b = ranks(x), ranks(y)
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / denominator) if denominator > 0 else 0.0


def strictly_decreasing(values: Sequence[float]) -> bool:
    return all(a > b for a, b in zip(values, values[1:]))


def strictly_increasing(values: Sequence[float]) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(as_float(a) - as_float(b))))


class Evaluator:
    """The paper's losses (gatys_jax.losses) of any RGB image against a content and a style
    image: content loss at `content_layer` and E_l on every layer of `style_layers` (default
    all five), style loss = sum_l E_l / L. One compiled function per image size."""

    def __init__(self, vgg, content_rgb: np.ndarray, style_rgb: np.ndarray,
                 content_layer: str | None = "conv4_2",
                 style_layers: Sequence[str] = STYLE_LAYERS, pooling: str = "avg"):
        self.vgg, self.style_layers = vgg, tuple(style_layers)
        self.config = losses_lib.LossConfig(content_layer, self.style_layers, pooling)
        make = jax.jit(losses_lib.make_targets, static_argnums=3)
        self.targets = make(vgg.params, self.to_x(content_rgb), self.to_x(style_rgb), self.config)
        n = len(self.style_layers)
        self.weights = losses_lib.make_loss_weights(1.0, [1.0 / n] * n if n else [])
        self.fn = jax.jit(losses_lib.losses, static_argnums=4)

    def to_x(self, rgb: np.ndarray) -> np.ndarray:
        return np.asarray(images_io.to_network(as_float(rgb), self.vgg.convention))

    def __call__(self, rgb: np.ndarray) -> dict:
        parts = jax.device_get(self.fn(self.vgg.params, self.to_x(rgb), self.targets,
                                       self.weights, self.config))
        out = {"style_loss": float(parts.style),
               "style_layer_losses": {l: float(v) for l, v in
                                      zip(self.style_layers, parts.style_layers)}}
        if self.config.content_layer:
            out["content_loss"] = float(parts.content)
        return out


# ------------------------------------------------------------------------------------ grids

def save_grid(path: Path, rows: list[list[np.ndarray | None]], row_labels: Sequence[str] = (),
              col_labels: Sequence[str] = (), title: str | None = None) -> Path:
    """A labelled grid of RGB uint8 images (None leaves a cell empty), each shown at about its
    pixel size (at least 1.4 inches wide so that labels fit)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(im for row in rows for im in row if im is not None)
    h, w = first.shape[:2]
    panel_w = max(w / 100.0, 1.4)
    panel_h = panel_w * h / w
    nrows, ncols = len(rows), max(len(r) for r in rows)
    title_h = 0.3 if title else 0.0
    fig_h = nrows * panel_h + 0.35 + title_h
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(ncols * panel_w + (0.4 if row_labels else 0), fig_h))
    for i, row in enumerate(rows):
        for j in range(ncols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            image = row[j] if j < len(row) else None
            if image is None:
                ax.axis("off")
            else:
                ax.imshow(np.asarray(image, np.uint8), interpolation="nearest")
            if i == 0 and j < len(col_labels):
                ax.set_title(col_labels[j], fontsize=7)
            if j == 0 and i < len(row_labels):
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_ylabel(row_labels[i], fontsize=7)
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


def format_number(value: float) -> str:
    return f"{value:.3g}"


def prepare(experiment: Experiment, styles: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """(content, styles) as RGB float arrays exactly as stylize_batch prepares them."""
    return prepare_images(experiment.path(experiment.args.content),
                          [experiment.path(s) for s in styles], experiment.args.size)
