"""Solvers: one shape for the project's L-BFGS and any optax optimizer.

A `Solver` is a pure `init`/`update` pair on the image x being optimized:

    state = solver.init(x)                             # no evaluation
    point, state, made = solver.update(point, state, loss, step)

where `point` is x with its loss and gradient (`Point`), `loss` gives the objective as
`loss.value(x)` and `loss.value_and_grad(x)`, `step` is the number of updates so far (the
same for every image of a batch), and `made` counts the evaluations the update made
(one for L-BFGS and plain optax transforms; a line search's trials for optax's line-search
methods). The driver runs every solver the same way; a solver with a `box` keeps x within it
and the driver starts it from x_0 clipped into it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, NamedTuple, Protocol

import jax.numpy as jnp
import numpy as np
import optax

from gatys_jax.errors import ConfigError
from gatys_jax.optim import lbfgs
from gatys_jax.optim.precondition import frequency_preconditioner

# adam: pixels are on a 0..255 scale
DEFAULT_LEARNING_RATE = {"lbfgs": 1.0, "lbfgsb": 1.0, "adam": 10.0}


class Point(NamedTuple):
    x: jnp.ndarray  # the image being optimized, in network input units
    value: jnp.ndarray  # total loss at x
    grad: jnp.ndarray  # its gradient with respect to x


class Loss(Protocol):
    """What a solver minimizes: the loss of x and its gradient (e.g. Objective.loss)."""

    value: Callable  # x -> total loss
    value_and_grad: Callable  # x -> (total loss, gradient)


class Box(NamedTuple):
    """Bounds on x per network channel, in network input units, and one grey level there."""

    lower: np.ndarray  # (3,) the input of a pixel value of 0
    upper: np.ndarray  # (3,) of 255
    grey_level: np.ndarray  # (3,) (upper - lower) / 255

    def clip(self, x: jnp.ndarray) -> jnp.ndarray:
        return jnp.clip(x, self.lower, self.upper)


class Solver(NamedTuple):
    """An optimizer over an image, pure: `init(x)` makes its state (no evaluation);
    `update(point, state, loss, step)` returns (the new Point, the new state, evaluations made)."""

    name: str
    init: Callable[[jnp.ndarray], Any]
    update: Callable[[Point, Any, Loss, jnp.ndarray], tuple[Point, Any, jnp.ndarray]]
    learning_rate: float | None = None  # the step size in effect, where there is one
    box: Box | None = None  # x stays within it


def lbfgs_solver(history: int = 100, learning_rate: float = 1.0,
                 precondition: float = 0.0) -> Solver:
    """The project's L-BFGS (lbfgs.py): one evaluation per step; `precondition` is the
    exponent of the spatial-frequency preconditioner (0: none)."""

    def update(point: Point, state: lbfgs.Search, loss: Loss, step):
        precond = frequency_preconditioner(point.x.shape, precondition)
        x, value, grad, state = lbfgs.update(*point, state, loss.value_and_grad, step,
                                             learning_rate, precond)
        return Point(x, value, grad), state, jnp.ones((), jnp.int32)

    return Solver("lbfgs", functools.partial(lbfgs.init, history_size=history), update,
                  learning_rate)


def lbfgsb_solver(box: Box, history: int = 100, learning_rate: float = 1.0) -> Solver:
    """L-BFGS-B (lbfgs.update_box): the project's L-BFGS with x kept in `box`, one
    evaluation per step."""

    def update(point: Point, state: lbfgs.BoxSearch, loss: Loss, step):
        x, value, grad, state = lbfgs.update_box(*point, state, loss.value_and_grad, step,
                                                 box.lower, box.upper, box.grey_level,
                                                 learning_rate)
        return Point(x, value, grad), state, jnp.ones((), jnp.int32)

    return Solver("lbfgsb", functools.partial(lbfgs.init_box, history_size=history), update,
                  learning_rate, box)


def from_optax(transform: optax.GradientTransformation, name: str = "optax",
               learning_rate: float | None = None) -> Solver:
    """Any optax transform as a solver. Every update receives the loss's value, gradient and
    `value_fn` (what optax's line searches need); a transform that stores the value and
    gradient at its new point (optax's line searches do) is not evaluated again, and its
    `num_linesearch_steps` counts its evaluations."""
    transform = optax.with_extra_args_support(transform)

    def update(point: Point, state, loss: Loss, step):
        updates, state = transform.update(point.grad, state, point.x, value=point.value,
                                          grad=point.grad, value_fn=loss.value)
        x = optax.apply_updates(point.x, updates)
        value, grad = optax.tree.get(state, "value"), optax.tree.get(state, "grad")
        if value is None or grad is None:
            value, grad = loss.value_and_grad(x)
            made = jnp.ones((), jnp.int32)
        else:
            made = jnp.asarray(optax.tree.get(state, "num_linesearch_steps", 1), jnp.int32)
        return Point(x, value, grad), state, made

    return Solver(name, transform.init, update, learning_rate)


def optax_alias(name: str) -> Callable:
    """optax's optimizer `name` (e.g. "adabelief"): a public optax function that takes a
    learning rate and builds a transform."""
    function = getattr(optax, name, None) if name in optax.__all__ else None
    if not (inspect.isfunction(function)
            and "learning_rate" in inspect.signature(function).parameters):
        raise ConfigError("optimizer", f"optax:{name} is not an optax optimizer that takes a "
                                       "learning rate (e.g. optax:adabelief, optax:sgd)")
    return function


def named(optimizer, learning_rate: float | None = None, history: int = 100,
            precondition: float = 0.0, box: Box | None = None) -> Solver:
    """The solver a StyleConfig's optimizer settings name: "lbfgs", "lbfgsb" (within `box`),
    "adam", "optax:<name>" (with `learning_rate`; `history` as the memory of optax.lbfgs), or
    a transform."""
    if not isinstance(optimizer, str):
        return from_optax(optimizer)
    lr = DEFAULT_LEARNING_RATE.get(optimizer) if learning_rate is None else learning_rate
    if optimizer == "lbfgs":
        return lbfgs_solver(history, lr, precondition)
    if optimizer == "lbfgsb":
        if box is None:
            raise ValueError("lbfgsb needs the box of the pixel values")
        return lbfgsb_solver(box, history, lr)
    if optimizer == "adam":
        return from_optax(optax.adam(lr), "adam", lr)
    name = optimizer.split(":", 1)[1]
    function = optax_alias(name)
    parameters = inspect.signature(function).parameters
    options = {"memory_size": history} if "memory_size" in parameters else {}
    if learning_rate is not None:
        options["learning_rate"] = learning_rate
    elif parameters["learning_rate"].default is inspect.Parameter.empty:
        raise ConfigError("learning_rate", f"must be given for {optimizer}")
    return from_optax(function(**options), optimizer, learning_rate)
