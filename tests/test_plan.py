"""The memory plan: estimates from shapes, fitting large images (recomputed blocks, a shorter
history) and refusing what cannot fit, all before anything is loaded."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gatys_jax import build
from gatys_jax.config import StyleConfig
from gatys_jax.engine import costs
from gatys_jax.errors import GatysError
from gatys_jax.model.objective import Objective, loss_weights
from gatys_jax.plan import plan_batch

from conftest import random_weights

GIB = 2**30


def test_recomputed_blocks_need_less_memory():
    objective = build.objective_of(StyleConfig())
    remat = build.objective_of(StyleConfig(), remat=True)
    # the estimate for recomputed blocks keeps a margin (REMAT_ACTIVATION_FACTOR): it plans
    # about three quarters of the activations' memory
    assert costs.activation_bytes(remat, 1024, 1024) < 0.8 * costs.activation_bytes(
        objective, 1024, 1024)


def test_recomputed_blocks_give_the_same_loss_and_gradient():
    vgg = random_weights(6)
    rng = np.random.default_rng(0)
    c, s, x = (rng.uniform(-100, 100, (32, 24, 3)).astype(np.float32) for _ in range(3))
    results = []
    for remat in (False, True):
        objective = Objective("conv4_2", ("conv1_1", "conv3_1", "conv5_1"), remat=remat)
        targets = objective.targets(vgg.params, c, s)
        loss = objective.loss(vgg.params, targets, loss_weights(1e-3, [1 / 3] * 3))
        results.append(jax.jit(loss.value_and_grad)(jnp.asarray(x)))
    np.testing.assert_allclose(float(results[1][0]), float(results[0][0]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(results[1][1]), np.asarray(results[0][1]), rtol=1e-5,
                               atol=1e-6 * float(jnp.abs(results[0][1]).max()))


def fake_memory(monkeypatch, gib: float):
    monkeypatch.setattr(costs, "available_bytes", lambda device=None: int(gib * GIB))


def test_2048_px_fits_a_24_gb_machine(monkeypatch):
    """A 24 GB CPU machine has about 22 GB available: a 2048 px image fits with its blocks
    recomputed and a slightly shorter L-BFGS history (the plan, not the run)."""
    fake_memory(monkeypatch, 22)
    planned = plan_batch("chelsea", "starry_night", size=2048)
    assert planned.shape == (1362, 2048)
    assert planned.objective.remat and planned.memory.total <= 22 * GIB * costs.MEMORY_FRACTION
    assert planned.notes and "recomputed" in planned.notes[0]
    assert 90 <= planned.jobs[0].config.history <= 100


def test_a_shorter_history_is_the_next_lever(monkeypatch):
    fake_memory(monkeypatch, 14)
    planned = plan_batch("chelsea", "starry_night", size=2048)
    history = planned.jobs[0].config.history
    assert costs.MIN_HISTORY <= history < 100 and planned.solver.name == "lbfgs"
    assert planned.memory.total <= 14 * GIB * costs.MEMORY_FRACTION
    assert f"from 100 to {history} pairs" in planned.notes[1]


def test_4096_px_fits_an_80_gb_gpu(monkeypatch):
    fake_memory(monkeypatch, 80)
    planned = plan_batch("chelsea", "starry_night", size=4096)
    assert planned.memory.total <= 80 * GIB * costs.MEMORY_FRACTION
    assert planned.jobs[0].config.history >= 50


def test_what_cannot_fit_is_refused_with_what_would(monkeypatch):
    fake_memory(monkeypatch, 4)
    with pytest.raises(GatysError, match="try a size of at most"):
        plan_batch("chelsea", "starry_night", size=8000)


def test_small_images_are_left_alone(monkeypatch):
    fake_memory(monkeypatch, 22)
    planned = plan_batch("chelsea", "starry_night", size=512)
    assert not planned.objective.remat and planned.notes == []
