"""Per-chain Python-loop SGD: the obvious implementation, kept as the yardstick.

It applies the same update as ``simulate`` to one chain at a time, with the
same noise stream, so the two must agree to round-off; bench/toy.py times
both to measure what vectorizing over chains buys.
"""

import numpy as np

from .simulate import NoiseStream, chain_lr, update


def simulate_loop(model, X, y, w0, lr, *, simulator, steps, sigma=0.0, batch=None, substeps=1, seed=0):
    """Label-noise, mini-batch or SDE chains, updated one chain at a time."""
    X = np.asarray(X, dtype=float)
    w = np.array(w0, dtype=float)
    n, S, K = X.shape[0], w.shape[0], w.shape[1]
    inner = substeps if simulator == "sde" else 1
    noisy = simulator in ("label_noise", "sde") and sigma > 0
    stream = NoiseStream(seed, K, n, y, sigma * np.sqrt(inner) if noisy else 0.0, batch if simulator != "sde" else None)
    XT = np.ascontiguousarray(X.T)
    lr = np.broadcast_to(np.asarray(lr, dtype=float), (K,))
    never = np.full(K, np.inf)
    calls = 0
    for t in range(steps):
        coef = chain_lr(t, lr, never, never, 1.0) / (n * inner)
        for _ in range(inner):
            target, mask = stream.get(calls)
            calls += 1
            for k in range(K):
                tk = target if target.ndim == 1 else target[k]
                mk = None if mask is None else mask[k]
                for s in range(S):
                    w[s, k] = update(model, w[s, k], X, XT, tk, coef[k], mk)
    return w
