"""The benchmarks' PyTorch side, on benchmarks.torch_reference: where PyTorch runs, the objective
of a StyleConfig on a problem's images, one loss + gradient evaluation to time, and one run of
an optimizer.

torch is imported inside the functions: a benchmark without its PyTorch cases runs without it.
"""

from __future__ import annotations

import time

import numpy as np

from gatys_jax.config import StyleConfig
from gatys_jax.optim.solvers import DEFAULT_LEARNING_RATE
from gatys_jax.problem import Problem


def torch_device() -> str:
    """Where PyTorch runs: CUDA when available (eager PyTorch on the GPU), else the CPU."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_objective(vgg, problem: Problem, config: StyleConfig,
                    memory_format: str = "channels_last", device: str | None = None):
    """torch_reference's objective of `config` with the problem's content and style images,
    on `device` (default: torch_device())."""
    from . import torch_reference as ref
    model = ref.build_model(vgg, pooling=config.pooling, memory_format=memory_format,
                            device=device or torch_device())
    return ref.make_objective(model, problem.to_network(problem.content),
                              problem.to_network(problem.styles[0]),
                              content_weight=config.content_weight,
                              content_layer=config.content_layer,
                              style_layers=config.style_layers,
                              style_weights=config.layer_weights)


def torch_evaluator(vgg, problem: Problem, config: StyleConfig, layout: str):
    """A function that evaluates loss and input gradient once (synchronized); x stays on
    the device between calls, as the JAX case's does."""
    import torch

    from . import torch_reference as ref
    device = torch_device()
    objective = torch_objective(vgg, problem, config, layout, device)
    x0 = ref.tensor_hwc(objective, problem.x0(config))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run():
        x = x0.detach().requires_grad_(True)
        loss = objective.loss(x)
        (grad,) = torch.autograd.grad(loss, x)
        sync()
        return loss, grad

    return run


def run_torch(optimizer: str, objective, x0: np.ndarray, evaluations: int, *,
              learning_rate: float | None = None, history: int = 100) -> dict:
    """torch.optim.LBFGS (history, lr 1, no line search) or torch.optim.Adam (lr 10 unless
    given), the project's defaults, on a torch_reference objective for exactly `evaluations`
    evaluations, after one warm-up evaluation (oneDNN / cuDNN setup) timed apart."""
    import torch

    from . import torch_reference as ref
    start = time.perf_counter()
    ref.loss_and_grad(objective, x0)
    warmup = time.perf_counter() - start
    lr = DEFAULT_LEARNING_RATE[optimizer] if learning_rate is None else learning_rate
    if optimizer == "lbfgs":
        result = ref.run_lbfgs(objective, x0, evaluations, history_size=history, lr=lr)
        name = f"PyTorch LBFGS (history {history}, lr {lr:g}, no line search)"
    else:
        result = ref.run_adam(objective, x0, evaluations, lr=lr)
        name = f"PyTorch Adam (lr {lr:g})"
    return {"name": name, "history": result.history, "evaluations": result.evaluations,
            "wall_seconds": result.wall_seconds, "compile_seconds": warmup,
            "compile_kind": "warm-up", "x": result.x, "torch_version": torch.__version__}
