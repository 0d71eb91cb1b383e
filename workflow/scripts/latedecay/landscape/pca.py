"""Exact PCA of N snapshots of D parameters (N << D) through the N x N Gram matrix.

The centred N x D matrix is never formed in float64 at once: it is streamed in column
blocks, so memory stays at the float32 snapshots plus one float64 block.
"""

from dataclasses import dataclass

import numpy as np
import torch

BLOCK = 1 << 16  # parameters per column block (851 snapshots: 0.45 GB per float64 block)


@dataclass
class PCA:
    mean: torch.Tensor  # float64 [D]
    components: torch.Tensor  # float64 [k, D], orthonormal rows
    variance: np.ndarray  # [k] explained variance (eigenvalues of the covariance, ddof 1)
    ratio: np.ndarray  # [k] explained variance / total variance
    coords: np.ndarray  # [N, k] projection of each snapshot


def _blocks(d, block):
    return [slice(s, min(s + block, d)) for s in range(0, d, block)]


def fit_pca(snapshots, k, block=BLOCK):
    """PCA with ``k`` components of the rows of ``snapshots`` [N, D].

    Signs are fixed so that each component's largest-magnitude coordinate is positive.
    """
    n, d = snapshots.shape
    rank = min(n - 1, d)
    if not 1 <= k <= rank:
        raise ValueError(f"landscape.components = {k}, but {n} snapshots span at most {rank} directions")
    blocks = _blocks(d, block)
    mean = torch.cat([snapshots[:, b].double().mean(0) for b in blocks])
    gram = torch.zeros(n, n, dtype=torch.float64)
    for b in blocks:
        centred = snapshots[:, b].double() - mean[b]
        gram += centred @ centred.T
    evals, evecs = torch.linalg.eigh(gram)
    evals, evecs = evals.flip(0).clamp_min(0), evecs.flip(1)
    if evals[k - 1] <= evals[0] * 1e-12:
        raise ValueError(f"landscape.components = {k}: the snapshots span fewer independent directions")
    # Right singular vectors of the centred matrix: V_j = X_c^T u_j / sqrt(lambda_j).
    lift = evecs[:, :k] / evals[:k].sqrt()
    components = torch.empty(k, d, dtype=torch.float64)
    coords = torch.zeros(n, k, dtype=torch.float64)
    for b in blocks:
        centred = snapshots[:, b].double() - mean[b]
        components[:, b] = lift.T @ centred
    components /= components.norm(dim=1, keepdim=True)
    for b in blocks:
        coords += (snapshots[:, b].double() - mean[b]) @ components[:, b].T
    flip = torch.sign(coords.gather(0, coords.abs().argmax(0, keepdim=True)))[0]
    flip[flip == 0] = 1
    components *= flip[:, None]
    coords *= flip
    variance = (evals[:k] / max(n - 1, 1)).numpy()
    total = float(evals.sum()) / max(n - 1, 1)
    return PCA(mean, components, variance, variance / total, coords.numpy())


def fit_quadratic(c1, c3):
    """(a, b, c) of the least-squares fit c3 ~ a c1^2 + b c1 + c (the authors' curved surface)."""
    return np.polyfit(np.asarray(c1, np.float64), np.asarray(c3, np.float64), 2)
