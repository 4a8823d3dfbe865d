"""The PyTorch reference (scripts/torch_reference.py) computes the same loss and gradient as JAX."""

import importlib.util
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import require
from gatys_jax import images, losses, weights as weights_io
from gatys_jax.stylize import initial_image, prepare_images

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SIZE = 48


def torch_reference():
    require(importlib.util.find_spec("torch") is not None, "torch is not installed")
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    import torch_reference as ref
    return ref


@pytest.fixture(scope="module")
def setting(plain_weights_path, shared_images):
    vgg = weights_io.load(plain_weights_path)
    content, styles = prepare_images(shared_images / "tubingen.jpg",
                                     shared_images / "starry_night.jpg", SIZE)
    style = styles[0] if isinstance(styles, (list, tuple)) else styles
    conv = vgg.convention
    x = images.to_network(initial_image("noise", 3, content, style), conv)
    return vgg, images.to_network(content, conv), images.to_network(style, conv), x


def jax_value_and_grad(vgg, content_x, style_x, x, pooling, content_weight):
    config = losses.LossConfig(pooling=pooling)
    params = jax.device_put(vgg.params)
    targets = losses.make_targets(params, jnp.asarray(content_x), jnp.asarray(style_x), config)
    weights = losses.make_loss_weights(content_weight, [0.2] * 5)
    (total, parts), grad = jax.jit(losses.value_and_grad(config))(
        jnp.asarray(x), params, targets, weights)
    return parts, np.asarray(grad)


def test_torch_reference_does_not_leak_into_library():
    library = Path(__file__).resolve().parents[1] / "gatys_jax"
    for path in library.glob("*.py"):
        text = path.read_text()
        assert "import torch\n" not in text and "from torch" not in text, path


@pytest.mark.parametrize("pooling", ["avg", "max"])
@pytest.mark.parametrize("memory_format", ["nchw", "channels_last"])
def test_loss_and_gradient_match_jax(setting, pooling, memory_format):
    ref = torch_reference()
    vgg, content_x, style_x, x = setting
    content_weight = 1e-3
    parts, grad_jax = jax_value_and_grad(vgg, content_x, style_x, x, pooling, content_weight)

    model = ref.build_model(vgg, pooling=pooling, memory_format=memory_format)
    objective = ref.make_objective(model, content_x, style_x, content_weight=content_weight)
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
    vgg, content_x, style_x, x = setting
    model = ref.build_model(vgg)
    objective = ref.make_objective(model, content_x, style_x)
    for run in (ref.run_lbfgs, ref.run_adam):
        result = run(objective, x, evaluations=6)
        assert result.evaluations == 6
        assert [r["evaluations"] for r in result.history] == list(range(1, 7))
        losses_ = [r["total_loss"] for r in result.history]
        assert losses_[-1] < losses_[0]
        # the returned image is the one whose loss was recorded last
        values, _ = ref.loss_and_grad(objective, result.x)
        np.testing.assert_allclose(values["total"], losses_[-1], rtol=1e-4)
