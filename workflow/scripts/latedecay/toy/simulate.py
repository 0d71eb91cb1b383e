"""Vectorized SGD simulators for the toy models: every chain in one array op.

State ``w`` has shape (S, K, d): S starting points that share their noise
(coupled chains, for the mixing check) times K chains with independent noise.
All three simulators use one update, applied to all chains at once
(latedecay.toy.chains):

    w <- w - (eta / n) J_beta(w)^T X^T [ m * (X beta(w) - y - s * eps) ]

    label_noise  eps ~ N(0, I_n) fresh every step, s = sigma, m = 1 (or a
                 mini-batch mask when ``batch`` < n)
    minibatch    no label noise (s = 0), m = n/b on b distinct samples drawn
                 fresh every step, 0 elsewhere (unbiased)
    sde          Euler-Maruyama for the SDE of full-batch label-noise SGD,
                 dw = -grad L dt + sqrt(eta) (sigma/n) J^T X^T dB, in
                 ``substeps`` steps of dt = eta/substeps per SGD step. One EM
                 step is the update above with eta/substeps and
                 s = sigma sqrt(substeps); substeps = 1 is label-noise SGD.

Per-chain schedules: chain k runs at lr[k] until decay_step[k], then at
lr[k] * decay_factor until end_step[k], then stops (eta = 0 leaves w
bitwise unchanged). Random numbers are drawn in blocks to keep the per-step
work at a dozen small array ops; a fixed seed gives bitwise-equal runs.
"""

import numpy as np

from .chains import make_chains

SIMULATORS = ("label_noise", "minibatch", "sde")
NOISE_BLOCK_VALUES = 1 << 16  # per draw: 512 kB of float64, small enough to stay in cache


class NoiseStream:
    """Labels and mini-batch masks for every update, drawn a cache-sized block of updates at a time.

    ``get(i)`` returns (target, mask) for update i, which must increase by one
    per call: target = y + noise_std * eps, shape (n, 1, K) (y as (n, 1, 1)
    when noiseless), and mask (n, 1, K) of weights n/b on b distinct samples
    (None at full batch). Both broadcast over the S coupled starts. The SFC64
    generator: drawing the noise is the largest single cost of a step.
    """

    def __init__(self, seed, chains, n, y, noise_std, batch):
        self.rng = np.random.Generator(np.random.SFC64(seed))
        self.block = max(1, min(256, NOISE_BLOCK_VALUES // (chains * n)))
        self.shape = (self.block, n, 1, chains)
        self.y = np.asarray(y, dtype=float).reshape(n, 1, 1)
        self.noise_std = noise_std
        self.batch = batch if batch is not None and batch < n else None
        self.n = n
        self.target = self.mask = None

    def _draw(self):
        if self.noise_std > 0:  # in place, into one reused buffer
            if self.target is None:
                self.target = np.empty(self.shape)
            self.rng.standard_normal(out=self.target)
            self.target *= self.noise_std
            self.target += self.y
        if self.batch is not None:
            rank = self.rng.random(self.shape).argsort(axis=1).argsort(axis=1)
            self.mask = np.where(rank < self.batch, self.n / self.batch, 0.0)

    def get(self, i):
        j = i % self.block
        if j == 0:
            self._draw()
        target = self.target[j] if self.noise_std > 0 else self.y
        mask = self.mask[j] if self.batch is not None else None
        return target, mask


def chain_lr(t, lr, decay_step, end_step, decay_factor):
    """Learning rate of every chain during step t (0 once a chain has ended)."""
    eta = np.where(t < decay_step, lr, lr * decay_factor)
    return np.where(t < end_step, eta, 0.0)


def _change_points(steps, decay_step, end_step):
    pts = {int(s) for s in np.concatenate([decay_step, end_step]) if 0 < s < steps}
    return sorted(pts)


def simulate(
    model,
    X,
    y,
    w0,
    lr,
    *,
    simulator,
    steps,
    sigma=0.0,
    batch=None,
    decay_step=None,
    end_step=None,
    decay_factor=0.1,
    substeps=1,
    seed=0,
    record_every=0,
    recorder=None,
):
    """Run all chains for ``steps`` SGD steps; return (w_final, record_steps, records).

    w0: (S, K, d). lr, decay_step, end_step: per chain, shape (K,) (None: never).
    recorder(w) -> dict of arrays, called at step 0, every ``record_every``
    steps and at the end; records stacks them along a new first axis.
    """
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; expected one of {SIMULATORS}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.array(w0, dtype=float)
    if w.ndim != 3:
        raise ValueError(f"w0 must have shape (starts, chains, d), got {w.shape}")
    n, K = X.shape[0], w.shape[1]
    lr = np.broadcast_to(np.asarray(lr, dtype=float), (K,))
    decay_step = np.full(K, np.inf) if decay_step is None else np.broadcast_to(decay_step, (K,))
    end_step = np.full(K, np.inf) if end_step is None else np.broadcast_to(end_step, (K,))
    inner = substeps if simulator == "sde" else 1
    noisy = simulator in ("label_noise", "sde") and sigma > 0
    noise_std = sigma * np.sqrt(inner)
    if simulator == "sde" and batch is not None and batch < n:
        raise ValueError("the sde simulator models full-batch label noise: batch must be None or n")
    stream = NoiseStream(seed, K, n, y, noise_std if noisy else 0.0, batch if simulator != "sde" else None)

    schedule = (lr, decay_step, end_step, decay_factor)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is reported below
        w, record_steps, records = _loop(model, X, w, schedule, steps, inner, stream, record_every, recorder)
    if not np.all(np.isfinite(w)):
        bad = np.unique(np.nonzero(~np.isfinite(w))[1])
        raise FloatingPointError(f"SGD diverged (non-finite w) in chains {bad.tolist()} with lr {lr[bad].tolist()}; lower the learning rate")
    stacked = {k: np.stack([r[k] for r in records]) for k in records[0]} if records else {}
    return w, np.asarray(record_steps, dtype=np.int64), stacked


def _loop(model, X, w, schedule, steps, inner, stream, record_every, recorder):
    """The step loop: a new lr vector only at change points, records on schedule."""
    lr, decay_step, end_step, decay_factor = schedule
    n = X.shape[0]
    changes = _change_points(steps, decay_step, end_step)
    chains = make_chains(model, X, w)
    record_steps, records = [], []

    def record(t):
        if recorder is not None:
            record_steps.append(t)
            records.append(recorder(chains.weights()))

    record(0)
    coef = None
    calls = 0
    for t in range(steps):
        if coef is None or (changes and t == changes[0]):
            if changes and t == changes[0]:
                changes.pop(0)
            coef = chain_lr(t, lr, decay_step, end_step, decay_factor) / (n * inner)
        for _ in range(inner):
            target, mask = stream.get(calls)
            calls += 1
            chains.step(target, mask, coef)
        if record_every and (t + 1) % record_every == 0 and t + 1 < steps:
            record(t + 1)
    record(steps)
    return chains.weights(), record_steps, records
