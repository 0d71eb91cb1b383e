"""Per-chain Python-loop SGD: the obvious implementation, kept as the yardstick.

It takes the textbook gradient step, w <- w - c J_beta(w)^T X^T r, for one chain
at a time in d dimensions, from the same LRSchedule and Noise (so the same noise
stream) as ``simulate``, so the two must agree to round-off; bench/toy.py times
both to measure what the vectorized simulator buys.
"""

import numpy as np


def simulate_loop(model, X, y, w0, schedule, noise, steps):
    """``simulate``'s chains (LRSchedule, Noise; no recording), updated one chain at a time."""
    X = np.asarray(X, dtype=float)
    w = np.array(w0, dtype=float)
    n, S, K = X.shape[0], w.shape[0], w.shape[1]
    inner = noise.updates_per_step
    stream = noise.stream(K, n, y)
    schedule = schedule.for_chains(K)
    calls = 0
    for t in range(steps):
        coef = schedule.lr_at(t) / (n * inner)
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
