"""The losses of any picture under an experiment's objective, as its optimizer computes them:
a result measured on layers it was not optimized on, a painting or photo as a baseline, a
picture's total loss as saved."""

from __future__ import annotations

import jax
import numpy as np

from gatys_jax import build
from gatys_jax.config import StyleConfig
from gatys_jax.model.objective import LossWeights, loss_weights
from gatys_jax.problem import build_problem

# one compiled program per objective and image size
_losses = jax.jit(lambda objective, *args: objective.losses(*args), static_argnums=0)


class Evaluator:
    """The losses of any RGB picture against a content and a style image under `config`'s
    objective (layers, pooling, precision) with lambda = 1 and its w_l."""

    def __init__(self, vgg, content_rgb: np.ndarray, style_rgb: np.ndarray, config: StyleConfig):
        self.params = jax.device_put(vgg.params)
        self.problem = build_problem(build.objective_of(config), vgg, content_rgb,
                                     [style_rgb], self.params)
        self.weights = loss_weights(1.0, config.layer_weights)

    def __call__(self, rgb: np.ndarray) -> dict:
        return self.at(self.problem.to_network(rgb))

    def parts(self, x, weights: LossWeights | None = None):
        """objective.Losses of a network input (the optimizer's own iterate, not clipped to
        8 bits) under `weights` (default: lambda 1 and the w_l), on host."""
        return jax.device_get(_losses(self.problem.objective, self.params, x,
                                      self.problem.targets[0],
                                      self.weights if weights is None else weights))

    def total(self, rgb: np.ndarray, config: StyleConfig) -> float:
        """The total loss of an RGB picture that `config`'s optimizer minimizes: Losses.total
        under its loss weights (lambda, w_l, tau; config has the evaluator's layers and w_l)."""
        return float(self.parts(self.problem.to_network(rgb), build.loss_weights_of(config)).total)

    def at(self, x) -> dict:
        """The losses of a network input (the optimizer's own iterate, not clipped to 8 bits):
        style, per style layer and, with a content layer, content."""
        objective = self.problem.objective
        parts = self.parts(x)
        out = {"style_loss": float(parts.style),
               "style_layer_losses": {l: float(v) for l, v in
                                      zip(objective.style_layers, parts.style_layers)}}
        if objective.content_layer:
            out["content_loss"] = float(parts.content)
        return out
