"""Normalization and the prepared sets held on the device as uint8."""

import functools
from dataclasses import dataclass

import torch

from ..io import load_torch, rebuild_hint

# The authors' CIFAR-10 channel statistics (their code: github.com/yinuoren/landscape).
MEAN = (0.491, 0.482, 0.447)
STD = (0.247, 0.243, 0.262)


@functools.cache
def _statistics(device, dtype):
    """(mean, std) as [3, 1, 1] tensors, made once per (device, dtype): a host-to-device
    copy per batch would block every training step on a GPU."""
    with torch.inference_mode(False):  # usable in training even if made during an evaluation
        return tuple(torch.tensor(v, dtype=dtype, device=device).view(3, 1, 1) for v in (MEAN, STD))


def normalize(images, dtype=torch.float32):
    """uint8 [B, 3, H, W] on any device -> normalized float tensor on the same device."""
    mean, std = _statistics(images.device, dtype)
    return (images.to(dtype) / 255 - mean) / std


def model_input(images, dtype=torch.float32):
    """Normalized batch in channels_last layout (faster convolutions on CPU)."""
    return normalize(images, dtype).contiguous(memory_format=torch.channels_last)


@dataclass
class Split:
    images: torch.Tensor  # uint8 [N, 3, 32, 32]
    labels: torch.Tensor  # int64 [N]


def _load_split(path, device):
    record = load_torch(path)
    missing = {"images", "labels"} - set(record)
    if missing:
        raise RuntimeError(f"{path}: not a prepared data file (missing keys {sorted(missing)}); {rebuild_hint(path)}")
    images, labels = record["images"], record["labels"]
    if images.dtype != torch.uint8 or images.shape[1:] != (3, 32, 32) or len(labels) != len(images):
        raise RuntimeError(f"{path}: expected uint8 images [N, 3, 32, 32] and N labels; {rebuild_hint(path)}")
    return Split(images.to(device), labels.to(device))


def load_sets(train_path, eval_path, device):
    """(train, eval) splits of results/data/{train,eval}.pt on ``device``."""
    return _load_split(train_path, device), _load_split(eval_path, device)
