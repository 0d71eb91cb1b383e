"""Exact rewrites of a network for evaluation at fixed weights (no gradients needed).

- Max-pool before ReLU (models.pool_before_relu, which training uses too).
- Convolutions on 2x2 maps as one matrix product (Conv2x2). With padding 1 and stride 1, a
  3x3 convolution on a 2x2 map is exactly the linear map x (N, 4C) -> y (N, 4O) whose
  (O x C) blocks are the taps linking each output pixel to each input pixel: one GEMM that
  does 4/9 of the multiply-adds. The direct kernels run such convolutions far below their
  usual speed (vgg_small's last one: ~70 GFLOP/s against ~190 for its other convolutions on
  one CPU core), so it pays wherever the weights stay fixed over many batches, as at a
  landscape grid point.
- 2x2, stride-2 max-pooling as two elementwise maxima of strided views (MaxPool2x2): the
  same values, ~1.5x faster than the pooling kernel, which also computes argmax indices.
"""

import copy

import torch
from torch import nn
from torch.nn import functional as F

from .models import pool_before_relu

_PIXELS = ((0, 0), (0, 1), (1, 0), (1, 1))
# Tap (ky, kx) linking output pixel p to input pixel q: [p, q].
_KY = torch.tensor([[qy - py + 1 for qy, _ in _PIXELS] for py, _ in _PIXELS])
_KX = torch.tensor([[qx - px + 1 for _, qx in _PIXELS] for _, px in _PIXELS])


def unroll_weight(w):
    """Conv weights (..., O, C, 3, 3) -> matrices (..., 4O, 4C), channels-last pixel order."""
    lead = w.dim() - 4
    taps = w.permute(*range(lead), lead + 2, lead + 3, lead, lead + 1)  # (..., 3, 3, O, C)
    blocks = taps[..., _KY.to(w.device), _KX.to(w.device), :, :]  # (..., p, q, O, C): whole-block copies
    order = (*range(lead), lead, lead + 2, lead + 1, lead + 3)  # (..., p, O, q, C)
    return blocks.permute(order).reshape(*w.shape[:lead], 4 * w.shape[-4], 4 * w.shape[-3])


def unroll_bias(b):
    """Conv biases (..., O) -> (..., 4O), one copy per output pixel."""
    return torch.cat([b] * 4, dim=-1)


class Conv2x2(nn.Module):
    """Stands in for a 3x3, padding-1 Conv2d whose input is always 2x2; holds the unrolled
    weight and bias (unroll_weight, unroll_bias). Input and output are (N, C, 2, 2)."""

    def __init__(self, conv):
        super().__init__()
        self.out_channels = conv.out_channels
        self.weight = nn.Parameter(unroll_weight(conv.weight.detach()))
        self.bias = nn.Parameter(unroll_bias(conv.bias.detach()))

    def forward(self, x):
        if tuple(x.shape[-2:]) != (2, 2):
            raise ValueError(f"Conv2x2 takes 2x2 maps, got {tuple(x.shape[-2:])}")
        n = x.shape[0]
        y = F.linear(x.permute(0, 2, 3, 1).reshape(n, -1), self.weight, self.bias)
        return y.view(n, 2, 2, self.out_channels).permute(0, 3, 1, 2)


def _qualifies(conv, shape):
    return (
        tuple(shape[-2:]) == (2, 2)
        and conv.kernel_size == (3, 3)
        and conv.padding == (1, 1)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.bias is not None
    )


def convs_on_2x2(model, image_shape=(3, 32, 32)):
    """Names of the Conv2d modules that see 2x2 maps when ``model`` gets images of ``image_shape``."""
    seen, hooks = {}, []

    def record(name):
        def hook(module, args, out):
            seen[name] = args[0].shape

        return hook

    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(record(name)))
    try:
        with torch.no_grad():
            p = next(model.parameters())
            model.eval()(torch.zeros(1, *image_shape, dtype=p.dtype, device=p.device))
    finally:
        for hook in hooks:
            hook.remove()
    return [name for name, shape in seen.items() if _qualifies(model.get_submodule(name), shape)]


class MaxPool2x2(nn.Module):
    """nn.MaxPool2d(2, 2) for maps of even size, as two maxima of strided views."""

    def forward(self, x):
        if x.shape[-2] % 2 or x.shape[-1] % 2:
            return F.max_pool2d(x, 2, 2)
        rows = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
        return torch.maximum(rows[..., 0::2], rows[..., 1::2])


def _replace(model, name, module):
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, module)


def for_evaluation(model, image_shape=(3, 32, 32)):
    """Apply all three rewrites in place; returns the names of the convolutions now Conv2x2,
    whose parameters must be passed through unroll_weight and unroll_bias."""
    pool_before_relu(model)
    names = convs_on_2x2(model, image_shape)
    for name in names:
        _replace(model, name, Conv2x2(model.get_submodule(name)))
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.MaxPool2d) and _is_2x2_pool(module):
            _replace(model, name, MaxPool2x2())
    return names


def _is_2x2_pool(pool):
    pair = nn.modules.utils._pair
    return (
        pair(pool.kernel_size) == (2, 2)
        and pair(pool.stride) == (2, 2)
        and pair(pool.padding) == (0, 0)
        and pair(pool.dilation) == (1, 1)
        and not pool.ceil_mode
        and not pool.return_indices
    )


class EvaluationCopy:
    """A rewritten copy of a training model (for_evaluation), refreshed with the model's
    current weights before each evaluation: the rewrites cost once, not per evaluation."""

    def __init__(self, model):
        self.module = copy.deepcopy(model)
        self.conv2x2 = set(for_evaluation(self.module))
        self.buffers = set(model.state_dict()) - {n for n, _ in model.named_parameters()}

    @torch.no_grad()
    def load(self, model):
        """Copy ``model``'s parameters (unrolled where a layer is now Conv2x2) and persistent buffers."""
        for name, p in model.named_parameters():
            layer, _, kind = name.rpartition(".")
            value = p.detach()
            if layer in self.conv2x2:
                value = unroll_weight(value) if kind == "weight" else unroll_bias(value)
            self.module.get_parameter(name).copy_(value)
        for name in self.buffers:
            self.module.get_buffer(name).copy_(model.get_buffer(name))
        return self.module
