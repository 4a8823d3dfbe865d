"""The one place that turns settings (a StyleConfig) into the objects a run computes with: the
objective and its loss weights, the solver (with its pixel box for L-BFGS-B) and the rule that
ends a run."""

from __future__ import annotations

import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.engine.driver import StopRule
from gatys_jax.model.convention import InputConvention, to_network
from gatys_jax.model.objective import LossWeights, Objective, loss_weights
from gatys_jax.optim.solvers import Box, Solver, named


def objective_of(config: StyleConfig, remat: bool = False) -> Objective:
    """The static choices of `config`'s objective (what is compiled)."""
    return Objective(config.content_layer, config.style_layers, config.pooling, config.dtype,
                     remat)


def loss_weights_of(config: StyleConfig) -> LossWeights:
    """The loss weights `config` asks for: lambda, w_l per style layer, tau."""
    return loss_weights(config.content_weight, config.layer_weights, config.tv_weight)


def pixel_box(convention: InputConvention) -> Box:
    """The box of the images an 8-bit file holds (RGB 0..255), as a network's input."""
    lower, upper = (to_network(np.full(3, value, np.float32), convention) for value in (0, 255))
    return Box(lower, upper, (upper - lower) / 255.0)


def solver_of(config: StyleConfig, convention: InputConvention, history: int | None = None,
              transform=None) -> Solver:
    """The solver of `config`'s optimizer settings (`history` in place of config.history), or
    of an optax GradientTransformation `transform` in place of the named optimizer; lbfgsb's
    box is the pixel range in the weights' input `convention`."""
    box = pixel_box(convention) if config.optimizer == "lbfgsb" else None
    return named(config.optimizer if transform is None else transform, config.learning_rate,
                   config.history if history is None else history, config.precondition, box)


def stop_rule_of(config: StyleConfig, iterations: int | None = None) -> StopRule:
    """The rule that ends each scale of `config`'s runs (`iterations` in place of
    config.iterations)."""
    return StopRule(config.iterations if iterations is None else iterations,
                    tolerance=config.stop_tolerance, window=config.stop_window,
                    pixels=config.stop_pixels)
