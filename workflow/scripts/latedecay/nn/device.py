"""Where a job computes: the device and the CPU thread count, shared by every torch job."""

import logging

import torch

log = logging.getLogger("latedecay.nn.device")


def setup(device, threads):
    """Resolve train.device ("auto" = cuda when available) and set the CPU thread count."""
    if threads:
        torch.set_num_threads(int(threads))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but torch sees no CUDA device")
    log.info("device %s, %d CPU threads, torch %s", device, torch.get_num_threads(), torch.__version__)
    return torch.device(device)
