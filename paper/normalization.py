"""The normalized network (paper, section 2): is each filter's mean activation one, and why
does lambda = 1e-3 weigh content so much more on it than on the plain network?

The paper scales the weights "such that the mean activation of each convolutional filter over
images and positions is equal to one". gatys_jax.weights.normalize does that over its calibration
photographs at 256 px. Measured here, per layer, from the normalized network: the mean
activation of every live filter over (a) the calibration photographs at 256 px, where it must
be one; (b) the same photographs at 512 px; (c) the bundled paintings; (d) uniform white
noise over 0..255. And the balance of the two loss terms at the paper's start (noise of 1
grey level around mid-grey) on both networks: the style loss (fourth power of the
activations) shrinks far more under the normalization than the content loss (second power),
so the same lambda weighs content more on the normalized network by the factor reported
(lambda_equivalent: the plain network's lambda that gives the normalized network's balance
at lambda).

    python -m paper.normalization [--quick] [--size PX] [--style ...]
"""

from __future__ import annotations

import numpy as np

from gatys_jax.io import images, paths, samples
from gatys_jax.model.layers import LAYERS
from gatys_jax.problem import initial_image
from gatys_jax.weights import h5, normalize

from .claims import claim
from .evaluator import Evaluator
from .experiment import Experiment
from .settings import defaults, parse, parser

NAME = "normalization"
DEFAULTS = defaults(iterations=0)
UNIT_TOLERANCE = 1e-3  # |mean - 1| of every live filter on the calibration images
BALANCE_FACTOR = 2.0  # "the same balance": equivalent lambdas within this factor


def layer_means(vgg, image_set: list[np.ndarray], live: dict) -> dict:
    """{layer: {median, min, max} over the live filters of their mean activation}."""
    means = normalize.mean_activations(vgg, image_set)
    return {layer: {"median": float(np.median(means[layer][live[layer]])),
                    "min": float(means[layer][live[layer]].min()),
                    "max": float(means[layer][live[layer]].max())} for layer in LAYERS}


def start_balance(vgg, content: np.ndarray, style: np.ndarray, config) -> dict:
    """The content and style losses (lambda 1) of the paper's white-noise start."""
    x0 = initial_image("noise", config.seed, content, style, config.noise_scale)
    losses = Evaluator(vgg, content, style, config)(x0)
    return {"content_loss": losses["content_loss"], "style_loss": losses["style_loss"]}


def plot(path, sets: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(LAYERS))
    for label, per_layer in sets.items():
        medians = np.array([per_layer[l]["median"] for l in LAYERS])
        low = medians - np.array([per_layer[l]["min"] for l in LAYERS])
        high = np.array([per_layer[l]["max"] for l in LAYERS]) - medians
        ax.errorbar(x, medians, yerr=(low, high), label=label, marker="o", ms=3, lw=1,
                    capsize=2)
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_yscale("log")
    ax.set_xticks(x, LAYERS, rotation=60, fontsize=7)
    ax.set_ylabel("mean activation per filter\n(median, min-max over filters)", fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title("The normalized VGG19's mean activations", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def setup(argv) -> Experiment:
    """The experiment the command line `argv` asks for, on the normalized network."""
    p = parser(__doc__.splitlines()[0], DEFAULTS)
    args, config = parse(p, argv, DEFAULTS)
    if h5.resolve(config.weights).normalization is None:
        p.error("--weights: give the normalized network (gatys-jax weights normalize)")
    return Experiment(NAME, "the normalized network's mean activations and the loss balance "
                      "it gives lambda", args, config, style=args.style)


def image_sets(shape: tuple[int, ...], seed: int) -> dict[str, list[np.ndarray]]:
    """{label: RGB images (H, W, 3) in 0..255}: the calibration photographs at the
    normalization's size and at 512 px, the bundled paintings, and four of uniform noise of
    `shape`."""
    rng = np.random.default_rng(seed)
    noise = [rng.uniform(0, 255, shape).astype(np.float32) for _ in range(4)]
    return {
        f"calibration photographs, {normalize.CALIBRATION_SIZE} px": normalize.calibration_images(),
        "calibration photographs, 512 px": normalize.calibration_images(512),
        "bundled paintings": [images.resize_long_side(np.asarray(samples.load(name), np.float32),
                                                      normalize.CALIBRATION_SIZE)
                              for name in samples.PAINTINGS],
        "white noise 0..255": noise,
    }


def equivalent_lambda(balance: dict, content_weight: float) -> tuple[dict, float]:
    """({network: style / content loss at the start}, the plain network's lambda that gives
    the normalized network's balance at `content_weight`)."""
    ratio = {name: b["style_loss"] / b["content_loss"] for name, b in balance.items()}
    return ratio, content_weight * ratio["plain"] / ratio["normalized"]


def claims_of(measured: dict, balance: dict, content_weight: float) -> list[dict]:
    """Mean activation one on the calibration photographs; lambda balancing the terms on the
    normalized network as on the plain one."""
    calibration = next(iter(measured.values()))
    worst = max(max(abs(v["min"] - 1), abs(v["max"] - 1)) for v in calibration.values())
    ratio, lambda_equivalent = equivalent_lambda(balance, content_weight)
    shown = ("conv1_1", "conv3_1", "conv5_1")
    medians = {label: ", ".join(f"{measured[label][l]['median']:.2f}" for l in shown)
               for label in measured}
    return [
        claim(
            "mean_activation_one", "Each filter's mean activation over images and positions is "
            "one (on the images the network was normalized with)",
            f"|mean - 1| <= {UNIT_TOLERANCE} for every live filter on the calibration "
            "photographs", {"worst_deviation": worst, "per_layer": calibration},
            f"largest deviation of a filter's mean from 1: {worst:.1e}; elsewhere (layer "
            f"medians, {', '.join(shown)}): 512 px "
            f"{medians['calibration photographs, 512 px']}, paintings "
            f"{medians['bundled paintings']}, white noise {medians['white noise 0..255']}",
            worst <= UNIT_TOLERANCE, needs_convergence=False),
        claim(
            "lambda_transfers", f"lambda = {content_weight:g} balances content and "
            "style on the normalized network as it does on the plain one (the paper states "
            "lambda for the normalized network; most implementations use the plain one)",
            f"the plain network's lambda with the same ratio of the two terms at the "
            f"white-noise start is within a factor {BALANCE_FACTOR} of {content_weight:g}",
            {"start_losses": balance, "style_over_content": ratio,
             "lambda_equivalent_on_plain": lambda_equivalent},
            f"style / content loss at the start: plain {ratio['plain']:.3g}, normalized "
            f"{ratio['normalized']:.3g}: lambda {content_weight:g} on the normalized "
            f"network weighs content like {lambda_equivalent:.2g} on the plain one",
            1 / BALANCE_FACTOR <= lambda_equivalent / content_weight <= BALANCE_FACTOR,
            needs_convergence=False),
    ]


def main(argv=None) -> dict:
    exp = setup(argv)
    config, normalized, plain = exp.config, exp.vgg, h5.load(paths.plain_weights())
    # the scales are the plain network's means; a dead filter keeps scale 1 and is left out
    live = {layer: normalized.normalization[layer] != 1.0 for layer in LAYERS}
    content, (style,) = exp.prepare([exp.args.style])
    measured = {label: layer_means(normalized, image_set, live)
                for label, image_set in image_sets(content.shape, config.seed).items()}
    balance = {name: start_balance(vgg, content, style, config)
               for name, vgg in (("plain", plain), ("normalized", normalized))}
    grid = exp.folder / "grid.png"
    plot(grid, measured)
    results = [{"images": label, "layers": per_layer} for label, per_layer in measured.items()]
    _, lambda_equivalent = equivalent_lambda(balance, config.content_weight)
    return exp.finish(claims_of(measured, balance, config.content_weight), results, grid,
                      balance=balance, lambda_equivalent_on_plain=lambda_equivalent)


if __name__ == "__main__":
    main()
