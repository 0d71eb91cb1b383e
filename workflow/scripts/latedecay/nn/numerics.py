"""How a job computes: precision (train.precision) and compilation (train.compile).

Both are part of an experiment's numerics, so both come from the settings and are
recorded in metrics.json. Everything that switches them lives here.
"""

import contextlib
import copy
import os

import torch
from torch import nn
from torch.nn import functional as F

PRECISIONS = ("fp32", "tf32", "bf16")
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune")


def compile_mode(setting, device):
    """train.compile resolved for ``device``: auto = reduce-overhead (CUDA graphs) on CUDA,
    off on CPU (a CPU compile costs tens of seconds and gains nothing here)."""
    if setting == "auto":
        return "reduce-overhead" if device.type == "cuda" else "off"
    if setting not in COMPILE_MODES:
        raise ValueError(f"train.compile = {setting!r}; choose auto or one of {COMPILE_MODES}")
    return setting


def set_matmul_precision(precision):
    """TF32 for matmuls and convolutions only under tf32; fp32 means full FP32 on CUDA too
    (cuDNN would otherwise use TF32 convolutions by default)."""
    if precision not in PRECISIONS:
        raise ValueError(f"train.precision = {precision!r}; choose one of {PRECISIONS}")
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def autocast(precision, device):
    """The forward pass's context: bf16 autocast under bf16, else nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class _LowConv2d(nn.Conv2d):
    """A convolution computed in bf16 (input, weight and bias cast), as autocast computes it."""

    def forward(self, x):
        low = torch.bfloat16
        return self._conv_forward(x.to(low), self.weight.to(low), None if self.bias is None else self.bias.to(low))


class _LowLinear(nn.Linear):
    """A linear layer computed in bf16, as autocast computes it."""

    def forward(self, x):
        low = torch.bfloat16
        return F.linear(x.to(low), self.weight.to(low), None if self.bias is None else self.bias.to(low))


class _LowBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm of a bf16 input in fp32, its output in bf16: what the CPU kernel does with
    autocast's bf16 input and fp32 parameters (vmap's batching rule refuses mixed dtypes)."""

    def forward(self, x):
        return super().forward(x.float()).to(torch.bfloat16)


_LOW = {nn.Conv2d: _LowConv2d, nn.Linear: _LowLinear, nn.BatchNorm2d: _LowBatchNorm2d}


def vmap_template(module, precision):
    """The module a vmapped functional call runs: under bf16, a copy whose layers compute as
    under autocast. Inside torch.func.vmap autocast leaves convolutions in fp32 and adds
    linear biases in fp32 (torch 2.14, CPU; see pytorch/pytorch#192617), so a pack would
    silently train in (mostly) fp32."""
    if precision != "bf16":
        return module
    module = copy.deepcopy(module)
    for layer in module.modules():
        if type(layer) in _LOW:
            layer.__class__ = _LOW[type(layer)]
    return module


def compiled(fn, mode):
    """``fn`` through torch.compile (static shapes: every batch has the same size), or as is."""
    if mode == "off":
        return fn
    return torch.compile(fn, mode=None if mode == "default" else mode, dynamic=False)


def use_compile_cache(folder):
    """Point Inductor's and AOTAutograd's on-disk caches at ``folder`` (shared by all jobs,
    so each graph compiles once per machine and code version, not once per job)."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.abspath(folder))
