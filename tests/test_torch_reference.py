"""The PyTorch reference (benchmarks/torch_reference.py) computes the same loss and gradient as JAX."""

import importlib.util

import jax
import numpy as np
import pytest

from gatys_jax.config import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS
from gatys_jax.model.convention import to_network
from gatys_jax.model.objective import Objective, loss_weights
from gatys_jax.problem import build_problem, initial_image, read_inputs
from gatys_jax.weights import h5

from conftest import CONTENT, STYLE, require

SIZE = 48


def torch_reference():
    require(importlib.util.find_spec("torch") is not None, "torch is not installed")
    from benchmarks import torch_reference as ref
    return ref


@pytest.fixture(scope="module")
def setting(plain_weights_path):
    """(weights, content and style RGB as stylize prepares them, noise x_0 as network input)."""
    vgg = h5.load(plain_weights_path)
    content, (style,) = read_inputs(CONTENT, [STYLE], SIZE)
    x = to_network(initial_image("noise", 3, content, style), vgg.convention)
    return vgg, content, style, x


def jax_value_and_grad(vgg, content, style, x, pooling, content_weight):
    objective = Objective(DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, pooling)
    problem = build_problem(objective, vgg, content, [style])
    weights = loss_weights(content_weight, [0.2] * 5)
    params, targets = jax.device_put(vgg.params), problem.targets[0]
    parts = jax.jit(objective.losses)(params, x, targets, weights)
    grad = jax.jit(jax.grad(objective.total))(x, params, targets, weights)
    return parts, np.asarray(grad)


@pytest.mark.parametrize("pooling", ["avg", "max"])
@pytest.mark.parametrize("memory_format", ["nchw", "channels_last"])
def test_loss_and_gradient_match_jax(setting, pooling, memory_format):
    ref = torch_reference()
    vgg, content, style, x = setting
    content_weight = 1e-3
    parts, grad_jax = jax_value_and_grad(vgg, content, style, x, pooling, content_weight)

    model = ref.build_model(vgg, pooling=pooling, memory_format=memory_format)
    objective = ref.make_objective(model, to_network(content, vgg.convention),
                                   to_network(style, vgg.convention),
                                   content_weight=content_weight)
    values, grad_torch = ref.loss_and_grad(objective, x)

    np.testing.assert_allclose(values["total"], float(parts.total), rtol=1e-4)
    np.testing.assert_allclose(values["content"], float(parts.content), rtol=1e-4)
    np.testing.assert_allclose(values["style"], float(parts.style), rtol=1e-4)
    np.testing.assert_allclose(values["style_layers"], np.asarray(parts.style_layers), rtol=1e-4)
    assert grad_torch.shape == grad_jax.shape == x.shape
    scale = np.max(np.abs(grad_jax))
    assert scale > 0
    np.testing.assert_allclose(grad_torch, grad_jax, rtol=1e-4, atol=1e-4 * scale)


def test_lbfgs_and_adam_runs_count_evaluations(setting):
    ref = torch_reference()
    vgg, content, style, x = setting
    model = ref.build_model(vgg)
    objective = ref.make_objective(model, to_network(content, vgg.convention),
                                   to_network(style, vgg.convention))
    for run in (ref.run_lbfgs, ref.run_adam):
        result = run(objective, x, evaluations=6)
        assert result.evaluations == 6
        assert [r["evaluations"] for r in result.history] == list(range(1, 7))
        losses_ = [r["total_loss"] for r in result.history]
        assert losses_[-1] < losses_[0]
        # the returned image is the one whose loss was recorded last
        values, _ = ref.loss_and_grad(objective, result.x)
        np.testing.assert_allclose(values["total"], losses_[-1], rtol=1e-4)
