"""Every epoch's randomness derived from (seed, path, epoch).

The state at an epoch boundary is then just weights + momentum: a run split into
segments, or resumed after a kill, draws exactly the same permutations, crops, flips
and dropout masks as an uninterrupted one.
"""

import zlib

import numpy as np
import torch

STREAMS = {"data": 0, "dropout": 1, "eval": 2}


def epoch_seed(seed, path, epoch, stream):
    """A 63-bit seed for one (seed, path, epoch, stream); path is "main" or "decay<E>"."""
    entropy = [seed, zlib.crc32(path.encode()), epoch, STREAMS[stream]]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def generator(seed, path, epoch, stream):
    """A CPU generator for the stream (draws are moved to the device afterwards, bitwise
    identical on every device)."""
    return torch.Generator().manual_seed(epoch_seed(seed, path, epoch, stream))


def rng_states():
    """torch's global RNG states, stored in checkpoints for completeness."""
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states
