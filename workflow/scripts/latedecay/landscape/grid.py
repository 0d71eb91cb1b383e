"""Split the grid points into chunk jobs and merge the chunks back."""

import numpy as np

from ..names import EVAL_METRICS


def chunk_points(n_points, chunks, chunk):
    """Indices of the grid points of chunk ``chunk`` (0-based) out of ``chunks``: contiguous,
    sizes differing by at most one, every point in exactly one chunk."""
    if not 0 <= chunk < chunks <= n_points:
        raise ValueError(f"chunk {chunk} of {chunks} for {n_points} grid points")
    bounds = np.linspace(0, n_points, chunks + 1).round().astype(np.int64)
    return np.arange(bounds[chunk], bounds[chunk + 1])


def merge_chunks(parts, shape, names=None):
    """Assemble chunk results {"index": [p], metric: [p]} into metric arrays of ``shape``.

    Every grid point must appear exactly once; ``names`` (the chunk files) name the culprit.
    """
    names = names or [f"chunk {i}" for i in range(len(parts))]
    n = int(np.prod(shape))
    owner = np.full(n, -1)
    out = {m: np.full(n, np.nan) for m in EVAL_METRICS}
    for i, part in enumerate(parts):
        idx = np.asarray(part["index"], np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise RuntimeError(f"{names[i]}: grid index outside 0..{n - 1}")
        if np.unique(idx).size != idx.size:
            raise RuntimeError(f"{names[i]}: a grid point appears twice")
        clash = idx[owner[idx] >= 0]
        if clash.size:
            raise RuntimeError(f"{names[i]}: grid point {clash[0]} also in {names[owner[clash[0]]]}")
        owner[idx] = i
        for m in EVAL_METRICS:
            out[m][idx] = part[m]
    if (owner < 0).any():
        raise RuntimeError(f"grid points missing from every chunk, e.g. {np.flatnonzero(owner < 0)[:5]}")
    return {m: v.reshape(shape) for m, v in out.items()}
