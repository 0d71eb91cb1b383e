"""Per-chain Python-loop SGD: the obvious implementation, kept as the yardstick.

It takes the textbook gradient step, w <- w - c J_beta(w)^T X^T r, for one chain
at a time in d dimensions, with the same noise stream as ``simulate``, so the
two must agree to round-off; bench/toy.py times both to measure what the
vectorized simulator buys.
"""

import numpy as np

from .simulate import NoiseStream, chain_lr


def simulate_loop(model, X, y, w0, lr, *, simulator, steps, sigma=0.0, batch=None, substeps=1, seed=0):
    """Label-noise, mini-batch or SDE chains, updated one chain at a time."""
    X = np.asarray(X, dtype=float)
    w = np.array(w0, dtype=float)
    n, S, K = X.shape[0], w.shape[0], w.shape[1]
    inner = substeps if simulator == "sde" else 1
    noisy = simulator in ("label_noise", "sde") and sigma > 0
    stream = NoiseStream(seed, K, n, y, sigma * np.sqrt(inner) if noisy else 0.0, batch if simulator != "sde" else None)
    lr = np.broadcast_to(np.asarray(lr, dtype=float), (K,))
    never = np.full(K, np.inf)
    calls = 0
    for t in range(steps):
        coef = chain_lr(t, lr, never, never, 1.0) / (n * inner)
        for _ in range(inner):
            target, mask = stream.get(calls)
            calls += 1
            target = np.broadcast_to(target, (n, 1, K))
            for k in range(K):
                tk = target[:, 0, k]
                for s in range(S):
                    r = X @ model.beta(w[s, k]) - tk
                    if mask is not None:
                        r *= mask[:, 0, k]
                    w[s, k] -= coef[k] * model.vjp(w[s, k], r @ X)
    return w
