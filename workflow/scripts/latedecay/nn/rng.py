"""Every random draw of a run derived from (seed, run label, epoch, purpose).

The state at an epoch boundary is then just weights + momentum: a run split into
segments, resumed after a kill, or trained in a pack of any size draws exactly the same
permutations, crops, flips and dropout masks as an uninterrupted run trained alone.
"""

import zlib

import numpy as np
import torch

STREAMS = {"data": 0, "dropout": 1, "eval": 2}


def epoch_seed(seed, label, epoch, stream):
    """A 63-bit seed for one (seed, label, epoch, stream); label is a names.run_label."""
    entropy = [seed, zlib.crc32(label.encode()), epoch, STREAMS[stream]]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def generator(seed, label, epoch, stream, device="cpu"):
    """A generator for the stream on ``device``. CPU draws are bitwise identical on every
    machine; the dropout masks are drawn on the training device (no host copy per epoch),
    so they depend on the device type, never on how the runs are laid out."""
    return torch.Generator(device=device).manual_seed(epoch_seed(seed, label, epoch, stream))
