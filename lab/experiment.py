"""The problem an experiment optimizes, and the arguments of its compiled steps."""

from __future__ import annotations

import jax

from gatys_jax import build
from gatys_jax.config import StyleConfig
from gatys_jax.problem import Problem, build_problem, read_inputs


def problem(config: StyleConfig, content, style, vgg) -> Problem:
    """The objective of `config` with its targets, from the content and style images prepared
    as stylize prepares them."""
    content_rgb, styles = read_inputs(content, [style], config.size, config.max_megapixels)
    return build_problem(build.objective_of(config), vgg, content_rgb, styles)


def device_arguments(problem: Problem, config: StyleConfig) -> tuple:
    """(params, targets, loss weights) of the problem's style on the default device: the
    arguments of the objective and of gatys_jax.engine.driver's compiled steps."""
    return (jax.device_put(problem.vgg.params), jax.device_put(problem.targets[0]),
            build.loss_weights_of(config))


def completed(result):
    """A stylize Result, or exit with 128 + the signal when one cut its run short: a benchmark
    stopped by Ctrl-C or SIGTERM ends there, and never keeps or reports a cut-short run."""
    if result.interrupted:
        raise SystemExit(128 + result.interrupted)
    return result
