"""Fig. 1's inputs: every seed's main path and subpaths, from metrics.json files, as tidy frames.

Files are grouped by the ``seed`` and ``path`` (run) fields they record, not by their
order or name, and each run must be there exactly once: every seed's main path as
contiguous segments, one subpath per seed and decay epoch. Subpath epochs count after
the decay, so a subpath starts at epoch 0.
"""

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import metrics
from .metrics import MetricsError
from .names import EVAL_METRICS, MAIN, run_label

KEYS = ("seed", "decay_epoch", "epoch")


@dataclass(frozen=True)
class Runs:
    """Tidy frames of every run (``seed`` column; subpath epochs after the decay)."""

    main_eval: pd.DataFrame  # seed, epoch, EVAL_METRICS
    main_batch: pd.DataFrame  # seed, epoch, train_batch_loss
    sub_eval: pd.DataFrame  # seed, decay_epoch, epoch, EVAL_METRICS
    sub_batch: pd.DataFrame  # seed, decay_epoch, epoch, train_batch_loss
    seeds: tuple
    decay_epochs: tuple  # sorted


def _fail(where, message):
    raise MetricsError(f"{where}: {message}")


def _frames(m):
    ev = {k: np.array(getattr(m.eval, k), dtype=float) for k in EVAL_METRICS}
    ev = {"epoch": np.array(m.eval.epoch, dtype=int), **ev}
    batch = {"epoch": np.array(m.epochs, dtype=int), "train_batch_loss": np.array(m.train_batch_loss, dtype=float)}
    return pd.DataFrame(ev), pd.DataFrame(batch)


def _main_path(segments, seed):
    """One seed's [(Metrics, where)] of path "main", joined in epoch order into (evaluations, batch losses)."""
    if not segments:
        _fail("main path", f"no metrics file of seed {seed}")
    segments = sorted(segments, key=lambda s: (s[0].start_epoch, s[0].end_epoch))
    reached, last_eval = 0, -1
    for m, where in segments:
        if m.start_epoch != reached:
            _fail(where, f"{m.run} starts at epoch {m.start_epoch}, its previous segment ended at {reached}")
        if m.eval.epoch[:1] and m.eval.epoch[0] <= last_eval:
            _fail(where, f"{m.run} repeats an evaluated epoch")
        reached, last_eval = m.end_epoch, (m.eval.epoch or [last_eval])[-1]
    ev, batch = zip(*(_frames(m) for m, _ in segments))
    return pd.concat(ev, ignore_index=True), pd.concat(batch, ignore_index=True)


def _subpath(found, seed, decay):
    """The one subpath of ``seed`` decaying at ``decay``: (evaluations, batch losses)."""
    if len(found) != 1:
        what = "no metrics file" if not found else f"{len(found)} files ({', '.join(str(w) for _, w in found)})"
        _fail("subpaths", f"{what} for run {run_label(decay)} of seed {seed}")
    m, where = found[0]
    if m.start_epoch != 0:
        _fail(where, "subpath epochs must count after the decay (start_epoch 0)")
    if not m.eval.epoch:
        _fail(where, "no evaluation logs (is subpath.epochs < train.eval_every?)")
    return tuple(f.assign(decay_epoch=decay) for f in _frames(m))


def _stack(parts, columns):
    return pd.concat(parts, ignore_index=True)[list(columns)] if parts else pd.DataFrame(columns=list(columns))


def from_records(records, seeds, decay_epochs):
    """``Runs`` from [(Metrics, where)]: grouped by their seed and run fields, checked complete."""
    decays = sorted(int(d) for d in decay_epochs)
    if len(set(decays)) != len(decays):
        _fail("fig1", f"decay epochs repeat: {decays}")
    by_run = defaultdict(list)
    for m, where in records:
        if m.seed not in seeds:
            _fail(where, f"{m.run}: seed {m.seed} is not one of the configured seeds {list(seeds)}")
        if m.path != MAIN and m.decay_epoch not in decays:
            _fail(where, f"{m.run}: decay epoch {m.decay_epoch} is not one of {decays}")
        by_run[m.seed, m.path].append((m, where))
    main = [_main_path(by_run[s, MAIN], s) for s in seeds]
    sub = [(s, _subpath(by_run[s, run_label(d)], s, d)) for s in seeds for d in decays]
    return Runs(
        main_eval=_stack([ev.assign(seed=s) for s, (ev, _) in zip(seeds, main)], ("seed", "epoch", *EVAL_METRICS)),
        main_batch=_stack([b.assign(seed=s) for s, (_, b) in zip(seeds, main)], ("seed", "epoch", "train_batch_loss")),
        sub_eval=_stack([ev.assign(seed=s) for s, (ev, _) in sub], (*KEYS, *EVAL_METRICS)),
        sub_batch=_stack([b.assign(seed=s) for s, (_, b) in sub], (*KEYS, "train_batch_loss")),
        seeds=tuple(seeds),
        decay_epochs=tuple(decays),
    )


def load_runs(files, seeds, decay_epochs):
    """Load metrics.json files (any order; main-path segments and subpaths together) into ``Runs``."""
    return from_records([(metrics.load(p), p) for p in files], list(seeds), decay_epochs)
