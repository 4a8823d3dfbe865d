"""Losses and the objective against numpy; gradients against finite differences (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gatys_jax.model import losses
from gatys_jax.model.objective import LossWeights, Objective, loss_weights

from conftest import random_weights


def value_and_grad(objective, x, params, targets, weights):
    """((L_total, all losses), dL/dx) of the objective, jitted."""
    def f(x, params, targets, weights):
        parts = objective.losses(params, x, targets, weights)
        return parts.total, parts
    return jax.jit(jax.value_and_grad(f, has_aux=True))(x, params, targets, weights)


def test_gram_content_style_match_numpy():
    rng = np.random.default_rng(0)
    fx, fs = rng.standard_normal((2, 5, 7, 4)).astype(np.float32)
    f2 = fx.reshape(-1, 4).T  # (N, M)
    gram_np = f2 @ f2.T
    np.testing.assert_allclose(losses.gram(jnp.asarray(fx)), gram_np, rtol=1e-5)
    np.testing.assert_allclose(losses.content_loss(fx, fs), 0.5 * np.sum((fx - fs) ** 2), rtol=1e-5)
    gs = fs.reshape(-1, 4).T @ fs.reshape(-1, 4)
    expected = np.sum((gram_np - gs) ** 2) / (4 * 4**2 * 35**2)
    np.testing.assert_allclose(losses.style_layer_loss(gram_np, gs, 35), expected, rtol=1e-5)


# --- helpers -----------------------------------------------------------------------------------


def central_differences(f, x: np.ndarray, eps: float) -> np.ndarray:
    """d f / d x by central differences, coordinate by coordinate (x float64)."""
    grad = np.zeros_like(x)
    flat = grad.reshape(-1)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        flat[i] = (float(f(x + step)) - float(f(x - step))) / (2 * eps)
    return grad


def np_gram(f: np.ndarray) -> np.ndarray:
    f2 = np.asarray(f, np.float64).reshape(-1, f.shape[-1])  # (M, N)
    return f2.T @ f2


def np_style_layer(fx: np.ndarray, gram_s: np.ndarray) -> float:
    n = fx.shape[-1]
    m = fx.shape[0] * fx.shape[1]
    return float(np.sum((np_gram(fx) - gram_s) ** 2) / (4.0 * n**2 * m**2))


# --- gradients against finite differences, float64 ---------------------------------------------

FD_SHAPE = (3, 4, 5)  # (H_l, W_l, N_l): 60 coordinates


def _fd_objectives():
    """{name: (f(features) -> scalar, built from the library's loss functions)} on fixed targets."""
    rng = np.random.default_rng(1)
    fc = rng.standard_normal(FD_SHAPE)
    fs1 = rng.standard_normal(FD_SHAPE)
    fs2 = rng.standard_normal((2, 2, 5))
    lam, w1, w2 = 0.3, 0.7, 1.9
    m = FD_SHAPE[0] * FD_SHAPE[1]

    def content(fx):
        return losses.content_loss(fx, jnp.asarray(fc))

    def style_layer(fx):
        return losses.style_layer_loss(losses.gram(fx), losses.gram(jnp.asarray(fs1)), m)

    def total(fx):
        # lambda * content + w1 E_1 (at fx) + w2 E_2 (at a 2x2 average pooling of fx, like a
        # deeper layer), all through the library's functions.
        deeper = fx[:2, :4].reshape(2, 2, 2, 5).mean(axis=2)
        return (lam * losses.content_loss(fx, jnp.asarray(fc))
                + w1 * losses.style_layer_loss(losses.gram(fx), losses.gram(jnp.asarray(fs1)), m)
                + w2 * losses.style_layer_loss(losses.gram(deeper), losses.gram(jnp.asarray(fs2)),
                                               4))

    return {"content": content, "style_layer": style_layer, "total": total}


@pytest.mark.parametrize("name", ["content", "style_layer", "total"])
def test_gradients_match_central_differences_float64(name):
    with jax.enable_x64(True):
        f = _fd_objectives()[name]
        x = np.random.default_rng(2).standard_normal(FD_SHAPE)
        value, grad = jax.value_and_grad(f)(jnp.asarray(x))
        # The losses must keep float64 when given float64 features, or no finite-difference
        # check is possible (float32 rounding in the loss swamps any useful step).
        assert value.dtype == jnp.float64, f"{name} loss computed in {value.dtype}, not float64"
        assert grad.dtype == jnp.float64
        numeric = central_differences(jax.jit(f), x, eps=1e-6)
    np.testing.assert_allclose(np.asarray(grad), numeric, rtol=1e-6, atol=1e-9 * np.abs(numeric).max())
    assert np.abs(numeric).max() > 1e-3  # the check is not vacuous


def test_network_gradient_matches_directional_differences_float64():
    """dL/dx of the whole objective (random VGG19, 16 px, float64) along random directions and
    at single pixels agrees with central differences."""
    vgg = random_weights(3)
    with jax.enable_x64(True):
        objective = Objective("conv2_2", ("conv1_1", "conv2_1", "conv3_1"), dtype="float64")
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), vgg.params)
        rng = np.random.default_rng(4)
        c, s, x = (rng.uniform(-100, 100, (16, 16, 3)) for _ in range(3))
        targets = jax.jit(objective.targets)(params, jnp.asarray(c), jnp.asarray(s))
        weights = LossWeights(jnp.asarray(1e-2, jnp.float64),
                              jnp.asarray([0.5, 0.3, 0.2], jnp.float64),
                              jnp.asarray(0.0, jnp.float64))
        (value, parts), grad = value_and_grad(objective, jnp.asarray(x), params, targets, weights)
        for part in (value, parts.content, parts.style_layers, *targets.style):
            assert part.dtype == jnp.float64, f"a loss or Gram matrix computed in {part.dtype}"
        f = jax.jit(lambda x: objective.losses(params, x, targets, weights).total)
        eps = 1e-3
        for _ in range(3):
            d = rng.standard_normal(x.shape)
            numeric = (float(f(x + eps * d)) - float(f(x - eps * d))) / (2 * eps)
            np.testing.assert_allclose(float(np.vdot(np.asarray(grad), d)), numeric, rtol=1e-6)
        for index in [(0, 0, 0), (7, 9, 1), (15, 3, 2)]:
            e = np.zeros(x.shape)
            e[index] = eps
            numeric = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
            np.testing.assert_allclose(float(grad[index]), numeric, rtol=1e-5,
                                       atol=1e-7 * float(np.abs(grad).max()))


# --- the whole objective against numpy -----------------------------------------------------------

def test_losses_and_value_and_grad_match_numpy_on_random_network():
    vgg = random_weights(5)
    config = Objective("conv3_2", ("conv1_1", "conv2_1", "conv3_1", "conv4_1"))
    rng = np.random.default_rng(6)
    c, s, x = (rng.uniform(-120, 120, (24, 20, 3)).astype(np.float32) for _ in range(3))
    lam, ws = 2e-3, [0.1, 0.2, 0.3, 0.4]
    weights = loss_weights(lam, ws)

    # Features from the network (jax), everything after that in numpy float64.
    features = jax.jit(config.features)
    fc, fs, fx = ({k: np.asarray(v, np.float64) for k, v in features(vgg.params, i).items()}
                  for i in (c, s, x))
    assert fx["conv4_1"].shape == (3, 2, 512)  # 24x20 after three 2x2 poolings (floor)
    content = 0.5 * np.sum((fx["conv3_2"] - fc["conv3_2"]) ** 2)
    per_layer = np.array([np_style_layer(fx[l], np_gram(fs[l])) for l in config.style_layers])
    style = float(np.dot(ws, per_layer))
    total = lam * content + style

    targets = jax.jit(config.targets)(vgg.params, c, s)
    np.testing.assert_allclose(np.asarray(targets.content), fc["conv3_2"], rtol=1e-4,
                               atol=1e-5 * np.abs(fc["conv3_2"]).max())
    for layer, target in zip(config.style_layers, targets.style):
        # targets are Gram matrices per position, G / M
        expected = np_gram(fs[layer]) / (fs[layer].shape[0] * fs[layer].shape[1])
        np.testing.assert_allclose(np.asarray(target), expected, rtol=1e-4,
                                   atol=1e-5 * np.abs(expected).max())

    losses_fn = jax.jit(config.losses)
    parts = losses_fn(vgg.params, jnp.asarray(x), targets, weights)
    np.testing.assert_allclose(float(parts.content), content, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(parts.style_layers), per_layer, rtol=1e-4)
    np.testing.assert_allclose(float(parts.style), style, rtol=1e-4)
    np.testing.assert_allclose(float(parts.total), total, rtol=1e-4)
    assert lam * content > 0.01 * total and style > 0.01 * total  # both terms matter

    (value, aux), grad = value_and_grad(config, jnp.asarray(x), vgg.params, targets, weights)
    np.testing.assert_allclose(float(value), total, rtol=1e-4)
    np.testing.assert_allclose(float(aux.total), total, rtol=1e-4)
    np.testing.assert_allclose(float(aux.content), content, rtol=1e-4)
    assert grad.shape == x.shape and grad.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(grad))) and float(jnp.abs(grad).max()) > 0
    # what the solvers see: the same value and gradient (another compiled program: rounding)
    loss = config.loss(vgg.params, targets, weights)
    value2, grad2 = jax.jit(loss.value_and_grad)(jnp.asarray(x))
    np.testing.assert_allclose([float(value2), float(jax.jit(loss.value)(jnp.asarray(x)))],
                               float(value), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(grad2), np.asarray(grad), rtol=1e-4,
                               atol=1e-5 * float(jnp.abs(grad).max()))

    # Lambda enters only the total.
    parts2 = losses_fn(vgg.params, jnp.asarray(x), targets, loss_weights(10 * lam, ws))
    np.testing.assert_allclose(float(parts2.content), float(parts.content), rtol=1e-6)
    np.testing.assert_allclose(float(parts2.style), float(parts.style), rtol=1e-6)
    np.testing.assert_allclose(float(parts2.total), 10 * lam * content + style, rtol=1e-4)


# --- the objective's layers and weights ----------------------------------------------------------

def test_objective_layers_are_deduplicated_in_order():
    objective = Objective(content_layer="conv1_1", style_layers=("conv1_1", "conv2_1"))
    assert objective.layers == ("conv1_1", "conv2_1")
    assert Objective(content_layer=None, style_layers=("conv3_1",)).layers == ("conv3_1",)


def test_loss_weights_accept_zero_and_shapes():
    w = loss_weights(0.0, [0.0, 1.0, 2.5])
    assert w.content.shape == () and w.content.dtype == jnp.float32
    assert w.style.shape == (3,) and w.style.dtype == jnp.float32
    assert loss_weights(1e-3, []).style.shape == (0,)


# --- style-only and content-only objectives --------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_inputs():
    rng = np.random.default_rng(7)
    c, s, x = (jnp.asarray(rng.uniform(-120, 120, (16, 24, 3)), jnp.float32) for _ in range(3))
    return random_weights(8).params, c, s, x


def test_style_only_objective(tiny_inputs):
    params, c, s, x = tiny_inputs
    config = Objective(content_layer=None, style_layers=("conv1_1", "conv2_1"))
    targets = config.targets(params, c, s)
    assert targets.content is None and len(targets.style) == 2
    weights = loss_weights(1e3, [0.5, 0.5])  # lambda is irrelevant without content
    (value, parts), grad = value_and_grad(config, x, params, targets, weights)
    assert float(parts.content) == 0.0
    assert float(parts.style) > 0 and float(value) == float(parts.style) == float(parts.total)
    fx = {k: np.asarray(v, np.float64) for k, v in config.features(params, x).items()}
    fs = {k: np.asarray(v, np.float64) for k, v in config.features(params, s).items()}
    expected = 0.5 * sum(np_style_layer(fx[l], np_gram(fs[l])) for l in config.style_layers)
    np.testing.assert_allclose(float(value), expected, rtol=1e-4)
    assert np.all(np.isfinite(np.asarray(grad))) and float(jnp.abs(grad).max()) > 0
    # x == style image: zero style loss
    parts_s = config.losses(params, s, targets, weights)
    assert float(parts_s.total) <= 1e-6 * float(parts.total)


def test_content_only_objective(tiny_inputs):
    params, c, s, x = tiny_inputs
    config = Objective(content_layer="conv2_2", style_layers=())
    targets = config.targets(params, c, s)
    assert targets.style == () and targets.content.shape == (8, 12, 128)
    weights = loss_weights(2.0, [])
    (value, parts), grad = value_and_grad(config, x, params, targets, weights)
    assert parts.style_layers.shape == (0,) and float(parts.style) == 0.0
    fx = np.asarray(config.features(params, x)["conv2_2"], np.float64)
    fc = np.asarray(config.features(params, c)["conv2_2"], np.float64)
    content = 0.5 * np.sum((fx - fc) ** 2)
    np.testing.assert_allclose(float(parts.content), content, rtol=1e-4)
    np.testing.assert_allclose(float(value), 2.0 * content, rtol=1e-4)
    assert np.all(np.isfinite(np.asarray(grad))) and float(jnp.abs(grad).max()) > 0
    # x == content image: zero loss and zero gradient
    (value_c, _), grad_c = value_and_grad(config, c, params, targets, weights)
    assert float(value_c) == 0.0 and float(jnp.abs(grad_c).max()) == 0.0


def test_total_variation_matches_numpy_and_its_gradient_is_minus_the_laplacian():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 7, 3))
    expected = 0.5 * (np.sum(np.diff(x, axis=0) ** 2) + np.sum(np.diff(x, axis=1) ** 2))
    with jax.enable_x64(True):
        value, grad = jax.value_and_grad(losses.total_variation)(jnp.asarray(x))
        numeric = central_differences(jax.jit(losses.total_variation), x, eps=1e-6)
    np.testing.assert_allclose(float(value), expected, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(grad), numeric, rtol=1e-6, atol=1e-9)
    # inside the image the gradient is minus the 4-neighbour Laplacian
    laplacian = (x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:] - 4 * x[1:-1, 1:-1])
    np.testing.assert_allclose(np.asarray(grad)[1:-1, 1:-1], -laplacian, rtol=1e-10)
    assert float(losses.total_variation(jnp.ones((4, 4, 3)))) == 0.0


def test_the_objective_weighs_total_variation_by_tau(tiny_inputs):
    params, c, s, x = tiny_inputs
    config = Objective(content_layer="conv2_2", style_layers=("conv1_1",))
    targets = config.targets(params, c, s)
    plain = config.losses(params, x, targets, loss_weights(1e-3, [1.0]))
    smooth = config.losses(params, x, targets, loss_weights(1e-3, [1.0], 0.5))
    assert float(plain.tv) == float(smooth.tv) == pytest.approx(
        float(losses.total_variation(x)), rel=1e-6)
    np.testing.assert_allclose(float(smooth.total), float(plain.total) + 0.5 * float(plain.tv),
                               rtol=1e-6)
