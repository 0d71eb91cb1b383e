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

Per-chain schedules (LRSchedule): chain k runs at lr[k] until decay_step[k],
then at lr[k] * decay_factor until end_step[k], then stops (eta = 0 leaves w
bitwise unchanged). ``simulate`` takes its settings as frozen objects, one
concern each: LRSchedule, Noise (simulator, sigma, batch, substeps, seed) and
Recording (what to record, how often). Random numbers are drawn in blocks to
keep the per-step work at a dozen small array ops; a fixed seed gives
bitwise-equal runs.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

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


@dataclass(frozen=True)
class Noise:
    """Where the SGD noise comes from: the simulator, the label-noise std ``sigma`` (label_noise,
    sde), the mini-batch size ``batch`` (None: all n; not sde), the Euler-Maruyama ``substeps``
    per SGD step (sde) and the seed of the noise stream."""

    simulator: str
    sigma: float = 0.0
    batch: int | None = None
    substeps: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.simulator not in SIMULATORS:
            raise ValueError(f"unknown simulator {self.simulator!r}; expected one of {SIMULATORS}")

    @property
    def updates_per_step(self):
        """Updates (and noise draws) per SGD step: the SDE's substeps, else one."""
        return self.substeps if self.simulator == "sde" else 1

    def stream(self, chains, n, y):
        """The NoiseStream of ``chains`` chains on n samples with clean labels y."""
        sde = self.simulator == "sde"
        if sde and self.batch is not None and self.batch < n:  # checked here: it needs n
            raise ValueError("the sde simulator models full-batch label noise: batch must be None or n")
        noisy = self.simulator in ("label_noise", "sde") and self.sigma > 0
        noise_std = self.sigma * np.sqrt(self.updates_per_step)  # one EM step's share of the noise
        return NoiseStream(self.seed, chains, n, y, noise_std if noisy else 0.0, None if sde else self.batch)


@dataclass(frozen=True)
class LRSchedule:
    """Each chain's learning rate: ``lr`` until ``decay_step``, then ``lr * decay_factor`` until
    ``end_step``, then 0 (the chain stops). Each a number or per-chain array (K,); None: never."""

    lr: float | np.ndarray
    decay_step: float | np.ndarray | None = None
    end_step: float | np.ndarray | None = None
    decay_factor: float = 0.1

    def for_chains(self, K):
        """The schedule as arrays of shape (K,), as ``lr_at`` and ``change_points`` need it."""
        never = np.full(K, np.inf)
        return replace(
            self,
            lr=np.broadcast_to(np.asarray(self.lr, dtype=float), (K,)),
            decay_step=never if self.decay_step is None else np.broadcast_to(self.decay_step, (K,)),
            end_step=never if self.end_step is None else np.broadcast_to(self.end_step, (K,)),
        )

    def lr_at(self, t):
        """Every chain's rate during step t (0 once it has ended)."""
        eta = np.where(t < self.decay_step, self.lr, self.lr * self.decay_factor)
        return np.where(t < self.end_step, eta, 0.0)

    def change_points(self, steps):
        """The steps in (0, steps) at which some chain's rate changes, ascending."""
        return sorted({int(s) for s in np.concatenate([self.decay_step, self.end_step]) if 0 < s < steps})


@dataclass(frozen=True)
class Recording:
    """What to record and when: ``metrics(w) -> dict of arrays`` of the weights (S, K, d), taken
    at step 0, every ``every`` steps (0: none in between) and at the end."""

    metrics: Callable[[np.ndarray], dict]
    every: int = 0


def simulate(model, X, y, w0, schedule, noise, steps, recording=None):
    """Run all chains for ``steps`` SGD steps; return (w_final, record_steps, records).

    w0: (S, K, d). schedule: LRSchedule (per chain or shared), noise: Noise, recording:
    Recording or None; records stacks its metrics along a new first axis.
    """
    X = np.asarray(X, dtype=float)
    w = np.array(w0, dtype=float)
    if w.ndim != 3:
        raise ValueError(f"w0 must have shape (starts, chains, d), got {w.shape}")
    n, K = X.shape[0], w.shape[1]
    schedule = schedule.for_chains(K)
    stream = noise.stream(K, n, np.asarray(y, dtype=float))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is reported below
        chains = make_chains(model, X, w)
        record_steps, records = _loop(chains, schedule, stream, noise.updates_per_step, steps, recording)
        w = chains.weights()
    if not np.all(np.isfinite(w)):
        bad = np.unique(np.nonzero(~np.isfinite(w))[1])
        raise FloatingPointError(
            f"SGD diverged (non-finite w) in chains {bad.tolist()} with lr {schedule.lr[bad].tolist()}; "
            "lower the learning rate"
        )
    stacked = {k: np.stack([r[k] for r in records]) for k in records[0]} if records else {}
    return w, np.asarray(record_steps, dtype=np.int64), stacked


def _loop(chains, schedule, stream, inner, steps, recording):
    """The step loop, ``inner`` updates a step: a new lr vector only at change points, records on schedule."""
    changes = schedule.change_points(steps)
    every = recording.every if recording is not None else 0
    record_steps, records = [], []

    def record(t):
        if recording is not None:
            record_steps.append(t)
            records.append(recording.metrics(chains.weights()))

    record(0)
    coef = None
    calls = 0
    for t in range(steps):
        if coef is None or (changes and t == changes[0]):
            if changes and t == changes[0]:
                changes.pop(0)
            coef = schedule.lr_at(t) / (stream.n * inner)
        for _ in range(inner):
            target, mask = stream.get(calls)
            calls += 1
            chains.step(target, mask, coef)
        if every and (t + 1) % every == 0 and t + 1 < steps:
            record(t + 1)
    record(steps)
    return record_steps, records
