"""Where a job computes: the device and the CPU thread count, shared by every torch job."""

import logging

import torch

from .numerics import set_matmul_precision, use_compile_cache

log = logging.getLogger("latedecay.nn.device")


def setup(device, threads, precision="fp32", compile_cache=None):
    """Resolve train.device ("auto" = cuda when available); set the CPU thread count, the
    matmul precision and the compile cache folder."""
    set_matmul_precision(precision)
    if compile_cache:
        use_compile_cache(compile_cache)
    if threads:
        torch.set_num_threads(int(threads))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but torch sees no CUDA device")
    if device == "cuda":
        torch.backends.cudnn.benchmark = True  # static shapes: pick the fastest kernels once
    log.info("device %s, %d CPU threads, precision %s, torch %s", device, torch.get_num_threads(), precision,
             torch.__version__)  # fmt: skip
    return torch.device(device)
