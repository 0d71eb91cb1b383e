"""Where a job computes: the device and the CPU thread count, shared by every torch job."""

import logging
import os

import torch

from . import cpu_isa, gpu_slots
from .numerics import set_matmul_precision, use_compile_cache

log = logging.getLogger("latedecay.nn.device")


def setup(device, threads, precision="fp32", compile_cache=None, deterministic=True):
    """Resolve train.device ("auto" = cuda when available; on a machine with several GPUs,
    one no other job holds, nn.gpu_slots); set the CPU thread count, the matmul precision,
    CUDA determinism (train.deterministic) and the compile cache folder; on CPU, log the
    kernels' ISA."""
    if deterministic:
        # read when cuBLAS starts, so before any CUDA work; a user's own setting is kept
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
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
        use_gpu(deterministic)
    log.info(
        "device %s, %d CPU threads, precision %s, torch %s",
        device,
        torch.get_num_threads(),
        precision,
        torch.__version__,
    )
    if device == "cpu":
        log_cpu_isa(precision)
    return torch.device(device)


def for_training(settings, threads):
    """``setup`` for a training job's TrainSettings; ``threads``: the job's cores, used when
    train.threads is null."""
    return setup(
        settings.device, settings.threads or threads, settings.precision, settings.compile_cache, settings.deterministic
    )


def use_gpu(deterministic):
    """This job's GPU (a free one when there are several) and its determinism settings.

    Deterministic: cuDNN's fixed algorithms and PyTorch's deterministic kernels (an op
    without one raises, naming itself), so two runs on the same GPU model write the same
    bytes. Off: cuDNN benchmarks its algorithms per shape (static here, so once), faster
    but free to pick differently from run to run. CPU kernels are deterministic already."""
    index = gpu_slots.acquire(torch.cuda.device_count())
    torch.cuda.set_device(index)  # "cuda" means this device from here on
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic
    torch.use_deterministic_algorithms(deterministic)
    log.info(
        "GPU %d of %d (%s), deterministic %s",
        index,
        torch.cuda.device_count(),
        torch.cuda.get_device_name(index),
        deterministic,
    )


def log_cpu_isa(precision):
    """The CPU's kernels (nn.cpu_isa) in the log; a warning where bf16 is emulated."""
    line, warning = cpu_isa.report(precision)
    log.info("%s", line)
    if warning:
        log.warning("%s", warning)
