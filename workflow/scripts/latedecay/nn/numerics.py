"""How a job computes: precision (train.precision) and compilation (train.compile).

Both are part of an experiment's numerics, so both come from the settings and are
recorded in metrics.json. Everything that switches them lives here.
"""

import contextlib
import os

import torch

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


def compiled(fn, mode):
    """``fn`` through torch.compile (static shapes: every batch has the same size), or as is."""
    if mode == "off":
        return fn
    return torch.compile(fn, mode=None if mode == "default" else mode, dynamic=False)


def use_compile_cache(folder):
    """Point Inductor's and AOTAutograd's on-disk caches at ``folder`` (shared by all jobs,
    so each graph compiles once per machine and code version, not once per job)."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.abspath(folder))
