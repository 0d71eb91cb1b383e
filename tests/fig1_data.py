"""Synthetic Fig. 1 runs of known truth, as ``latedecay.metrics.Metrics`` records: the contract
the training jobs write and the figure rules read. ``write`` puts them where the rules do
(results/seed<S>/...); ``runs`` passes them to the loader's grouping without files."""

import numpy as np

from latedecay import metrics
from latedecay.fig1_runs import from_records
from latedecay.metrics import Evals, Metrics
from latedecay.names import MAIN, run_label

SEGMENT, MAIN_EPOCHS, SUB_EPOCHS, EVAL_EVERY = 20, 90, 30, 5
DECAYS = (0, 20, 40, 60)
K = 3  # fig1.final_window of these tests
MARGINS = {"margin": 0.005, "margin_acc": 0.005}


def flat(epoch):
    return 0.3 + 0 * np.asarray(epoch, dtype=float)


def record(label, seed, start, end, loss, rng, noise):
    """One run's metrics: test loss ``loss(epoch)`` (+ N(0, noise^2) per evaluation), test
    accuracy 1 - loss (+ its own noise), evaluations every EVAL_EVERY epochs (and at 0)."""
    ev = [e for e in range(start, end + 1) if e % EVAL_EVERY == 0 and (e > start or end == 0)]
    truth = np.asarray(loss(np.array(ev, dtype=float)), dtype=float)
    n = len(ev)
    return Metrics(
        path=label,
        seed=seed,
        decay_epoch=None if label == MAIN else int(label[5:]),
        start_epoch=start,
        end_epoch=end,
        epochs=list(range(start + 1, end + 1)),
        train_batch_loss=(0.15 + 0.01 * rng.random(end - start)).tolist(),
        eval=Evals(
            epoch=ev,
            train_loss=(0.1 + 0.01 * rng.random(n)).tolist(),
            train_acc=(0.9 + 0.01 * rng.random(n)).tolist(),
            test_loss=(truth + rng.normal(0, noise, n)).tolist(),
            test_acc=(1 - truth + rng.normal(0, noise, n)).tolist(),
        ),
        lr=0.1 if label == MAIN else 0.01,
        precision="fp32",
        compile="off",
        device="cpu",
    )


def records(seeds=(7,), main=flat, sub=None, decays=DECAYS, noise=0.003, main_epochs=MAIN_EPOCHS, rng=None):
    """[(Metrics, where)] of every run: main path ``main(epoch)`` in SEGMENT-epoch segments;
    subpath at D ``sub(D, epoch after the decay)`` (default: the main path's later value - 0.01)."""
    sub = sub or (lambda d, e: main(d + e) - 0.01)
    out = []
    for seed in seeds:
        gen = rng or np.random.default_rng(seed)
        ends = list(range(0, main_epochs + 1, SEGMENT))
        ends += [main_epochs] if ends[-1] != main_epochs else []
        for start, end in zip([0, *ends[:-1]], ends):
            out.append((record(MAIN, seed, start, end, main, gen, noise), f"seed{seed}/main/epoch{end}"))
        for d in decays:
            rec = record(run_label(d), seed, 0, SUB_EPOCHS, lambda e, d=d: sub(d, e), gen, noise)
            out.append((rec, f"seed{seed}/sub/decay{d}"))
    return out


def runs(seeds=(7,), decays=DECAYS, **kw):
    """The ``Runs`` the loader makes of ``records`` (no files)."""
    return from_records(records(seeds, decays=decays, **kw), list(seeds), decays)


def write(recs, root):
    """Save records as metrics.json files under ``root``/results/...; returns the paths."""
    paths = []
    for m, where in recs:
        path = root / "results" / where / "metrics.json"
        metrics.save(m, path)
        paths.append(path)
    return paths
