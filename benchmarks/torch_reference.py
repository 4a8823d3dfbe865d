"""A PyTorch implementation of exactly the objective of gatys_jax: the independent reference the
benchmarks and tests compare with.

Same weight file (the project's h5, read with gatys_jax.weights.h5.load; HWIO kernels -> OIHW),
same network input convention (the caller passes network inputs made with
gatys_jax.model.convention.to_network), same layers, pooling (2x2, stride 2, floor) and losses:

    L_content = 1/2 sum (F_x - F_c)^2                      at conv4_2
    E_l       = sum (G_x - G_s)^2 / (4 N_l^2 M_l^2)        G = F F^T, unnormalized
    L_style   = sum_l w_l E_l                              w_l = 1/5 on conv1_1 ... conv5_1
    L_total   = lambda * L_content + L_style

The variable being optimized is an (H, W, 3) tensor laid out exactly like the JAX x, so that
flattened vectors (L-BFGS history, gradients) correspond element for element. The network
sees it as NCHW, either copied to contiguous NCHW (`memory_format="nchw"`) or as a permuted
view whose strides are channels_last (`memory_format="channels_last"`).

The model, targets and optimized tensor live on the model's device (`build_model(...,
device="cuda")` for eager PyTorch on a GPU; the default is the CPU); numpy goes in and
comes out.

Only the benchmarks and the tests import this module: gatys_jax itself never imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gatys_jax.config import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS
from gatys_jax.model.layers import LAYERS, POOLINGS, layer_block
from gatys_jax.weights import h5
from lab.host import cores

MEMORY_FORMATS = ("nchw", "channels_last")


def set_threads(count: int | None = None) -> int:
    """torch intra-op threads: `count`, or all cores available to this process."""
    count = count or cores()
    torch.set_num_threads(count)
    return count


class VGG19Features(torch.nn.Module):
    """VGG19 conv stack (no FC layers) returning post-ReLU activations by name."""

    def __init__(self, params: dict, pooling: str = "avg", memory_format: str = "nchw"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose avg or max")
        if memory_format not in MEMORY_FORMATS:
            raise ValueError(f"unknown memory_format {memory_format!r}; choose {MEMORY_FORMATS}")
        self.pooling = pooling
        self.memory_format = memory_format
        fmt = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
        self.convs = torch.nn.ModuleDict()
        for layer in LAYERS:
            kernel = np.asarray(params[layer]["kernel"], np.float32)  # HWIO
            bias = np.asarray(params[layer]["bias"], np.float32)
            conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(
                    kernel.transpose(3, 2, 0, 1))))  # -> OIHW
                conv.bias.copy_(torch.from_numpy(bias))
            conv.weight.requires_grad_(False)
            conv.bias.requires_grad_(False)
            self.convs[layer] = conv
        self.to(memory_format=fmt)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def to_nchw(self, x_hwc: torch.Tensor) -> torch.Tensor:
        """(H, W, 3) -> (1, 3, H, W) in this model's memory format (differentiable)."""
        x = x_hwc.permute(2, 0, 1).unsqueeze(0)  # strides are channels_last already
        if self.memory_format == "nchw":
            return x.contiguous()
        return x.contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """x: (1, 3, H, W) network input; returns {layer: (1, C_l, H_l, W_l)}."""
        wanted = set(layers)
        deepest = max(LAYERS.index(layer) for layer in layers)
        pool = F.avg_pool2d if self.pooling == "avg" else F.max_pool2d
        out = {}
        for index, layer in enumerate(LAYERS[: deepest + 1]):
            if index > 0 and layer_block(layer) != layer_block(LAYERS[index - 1]):
                x = pool(x, kernel_size=2, stride=2)  # floor mode, no padding
            x = F.relu(self.convs[layer](x))
            if layer in wanted:
                out[layer] = x
        return out


def gram(features: torch.Tensor) -> torch.Tensor:
    """(1, N, H, W) -> (N, N) unnormalized F F^T."""
    f = features.reshape(features.shape[1], -1)
    return f @ f.t()


@dataclass
class Objective:
    """The Gatys objective of an (H, W, 3) network-space image, with fixed targets."""

    model: VGG19Features
    content_target: torch.Tensor | None
    style_targets: tuple
    content_weight: float = 1e-3
    content_layer: str | None = DEFAULT_CONTENT_LAYER
    style_layers: tuple = DEFAULT_STYLE_LAYERS
    style_weights: tuple = field(default=())

    def __post_init__(self):
        if not self.style_weights:
            self.style_weights = tuple(1.0 / len(self.style_layers) for _ in self.style_layers)

    @property
    def layers(self) -> tuple:
        content = (self.content_layer,) if self.content_layer else ()
        return tuple(dict.fromkeys(content + tuple(self.style_layers)))

    def parts(self, x_hwc: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.model(self.model.to_nchw(x_hwc), self.layers)
        content = (0.5 * torch.sum((feats[self.content_layer] - self.content_target) ** 2)
                   if self.content_layer else x_hwc.new_zeros(()))
        style = x_hwc.new_zeros(())
        per_layer = []
        for layer, target, w in zip(self.style_layers, self.style_targets, self.style_weights):
            f = feats[layer]
            n, m = f.shape[1], f.shape[2] * f.shape[3]
            e = torch.sum((gram(f) - target) ** 2) / (4.0 * n * n * float(m) ** 2)
            per_layer.append(e)
            style = style + w * e
        total = self.content_weight * content + style
        return {"total": total, "content": content, "style": style,
                "style_layers": per_layer}

    def loss(self, x_hwc: torch.Tensor) -> torch.Tensor:
        return self.parts(x_hwc)["total"]


def _tensor_hwc(x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    x = np.asarray(x, np.float32)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"expected a network-space image (H, W, 3), got {x.shape}")
    return torch.from_numpy(np.ascontiguousarray(x)).clone().to(device)


def tensor_hwc(objective: Objective, x: np.ndarray) -> torch.Tensor:
    """A network-space image (H, W, 3) as a tensor on the objective's device."""
    return _tensor_hwc(x, objective.model.device)


def build_model(weights: str | Path | h5.VGGWeights, pooling: str = "avg",
                memory_format: str = "nchw", device: str = "cpu") -> VGG19Features:
    """VGG19Features from the project's h5 file (or a loaded VGGWeights), on `device`."""
    if not isinstance(weights, h5.VGGWeights):
        weights = h5.load(weights)
    return VGG19Features(weights.params, pooling, memory_format).to(device).eval()


def make_objective(model: VGG19Features, content_x: np.ndarray, style_x: np.ndarray,
                   content_weight: float = 1e-3,
                   content_layer: str | None = DEFAULT_CONTENT_LAYER,
                   style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
                   style_weights: Sequence[float] | None = None) -> Objective:
    """Targets (computed once) from network-space content and style images (H, W, 3)."""
    style_layers = tuple(style_layers)
    device = model.device
    with torch.no_grad():
        content_target = None
        if content_layer:
            content_target = model(model.to_nchw(_tensor_hwc(content_x, device)),
                                   (content_layer,))[content_layer].detach()
        style_targets = ()
        if style_layers:
            feats = model(model.to_nchw(_tensor_hwc(style_x, device)), style_layers)
            style_targets = tuple(gram(feats[layer]).detach() for layer in style_layers)
    return Objective(model, content_target, style_targets, content_weight, content_layer,
                     style_layers, tuple(style_weights or ()))


def loss_and_grad(objective: Objective, x: np.ndarray) -> tuple[dict, np.ndarray]:
    """({total, content, style, style_layers} as floats, dL_total/dx (H, W, 3) numpy)."""
    xt = tensor_hwc(objective, x).requires_grad_(True)
    parts = objective.parts(xt)
    parts["total"].backward()
    values = {"total": float(parts["total"].detach()), "content": float(parts["content"].detach()),
              "style": float(parts["style"].detach()),
              "style_layers": [float(v.detach()) for v in parts["style_layers"]]}
    return values, xt.grad.detach().cpu().numpy().copy()


@dataclass
class RunResult:
    x: np.ndarray  # final (H, W, 3) network-space image
    history: list  # [{evaluations, total_loss, seconds}], one per evaluation
    wall_seconds: float
    evaluations: int


def run_lbfgs(objective: Objective, x0: np.ndarray, evaluations: int, history_size: int = 100,
              lr: float = 1.0, on_eval: Callable[[dict], None] | None = None) -> RunResult:
    """torch.optim.LBFGS in the classic setting (history 100, lr 1, no line search) for
    exactly `evaluations` loss+gradient evaluations (one per iteration, the first included).

    With max_iter=N and no line search, torch evaluates once before the loop and once after
    every step except the last: N evaluations. The x returned is that of the last evaluation
    (torch takes one more, unevaluated, step after it; it is undone here so that the image
    matches the recorded loss).
    """
    x = tensor_hwc(objective, x0).requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], lr=lr, max_iter=evaluations, history_size=history_size,
                                  line_search_fn=None, tolerance_grad=-1, tolerance_change=-1,
                                  max_eval=evaluations + 1)
    rows: list = []
    last_x = [None]
    start = time.perf_counter()

    def closure():
        optimizer.zero_grad(set_to_none=False)
        loss = objective.loss(x)
        loss.backward()
        value = float(loss.detach())
        row = {"evaluations": len(rows) + 1, "total_loss": value,
               "seconds": time.perf_counter() - start}
        rows.append(row)
        last_x[0] = x.detach().clone()
        if on_eval:
            on_eval(row)
        return loss

    optimizer.step(closure)
    wall = time.perf_counter() - start
    return RunResult(last_x[0].cpu().numpy(), rows, wall, len(rows))


def run_adam(objective: Objective, x0: np.ndarray, evaluations: int, lr: float = 10.0,
             on_eval: Callable[[dict], None] | None = None) -> RunResult:
    """torch.optim.Adam for `evaluations` evaluations (evaluation k+1 is at x after k steps;
    the last evaluation's gradient is not applied, so the x returned matches its loss)."""
    x = tensor_hwc(objective, x0).requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr)
    rows: list = []
    start = time.perf_counter()
    for k in range(evaluations):
        optimizer.zero_grad(set_to_none=False)
        loss = objective.loss(x)
        loss.backward()
        row = {"evaluations": k + 1, "total_loss": float(loss.detach()),
               "seconds": time.perf_counter() - start}
        rows.append(row)
        if on_eval:
            on_eval(row)
        if k + 1 < evaluations:
            optimizer.step()
    wall = time.perf_counter() - start
    return RunResult(x.detach().cpu().numpy().copy(), rows, wall, len(rows))
