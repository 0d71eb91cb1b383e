"""Random crop (zero padding) and horizontal flip, per sample, in one batched gather."""

import torch
import torch.nn.functional as F

PAD = 4


def draw(n, generator, pad=PAD):
    """Per-sample crop offsets (dy, dx) uniform in 0..2*pad and flips with probability 1/2."""
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    flips = torch.randint(0, 2, (n,), generator=generator).bool()
    return offsets, flips


def crop_flip(images, offsets, flips, pad=PAD):
    """Crop each zero-padded image at its offset, then mirror it if flipped.

    Same result as torchvision's RandomCrop(32, padding=pad) + RandomHorizontalFlip for the
    given draws; works on uint8 and on any device.
    """
    n, _, h, w = images.shape
    offsets, flips = offsets.to(images.device), flips.to(images.device)
    padded = F.pad(images, (pad, pad, pad, pad))
    ar_h = torch.arange(h, device=images.device)
    ar_w = torch.arange(w, device=images.device)
    rows = offsets[:, :1] + ar_h  # [n, h]
    cols = offsets[:, 1:] + torch.where(flips[:, None], w - 1 - ar_w, ar_w)  # [n, w]
    batch = torch.arange(n, device=images.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # advanced dims first: [n, h, w, C]
    return out.permute(0, 3, 1, 2).contiguous()
