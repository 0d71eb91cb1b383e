"""Read the training engine's metrics.json files and summarize the subpaths (Fig. 1).

metrics.json (one per main-path segment, one per subpath) holds ``path``
("main" or "decay<E>"), ``decay_epoch``, ``start_epoch``, ``end_epoch``,
``epochs`` (start+1 .. end), ``train_batch_loss`` (one per epoch) and ``eval``
(lists ``epoch``, ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``).
Subpath epochs count after the decay, so a subpath starts at epoch 0.
"""

import csv
import logging
import math
from numbers import Real

import numpy as np
from scipy import stats

from latedecay.io import atomic_path, load_json

EVAL_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")
SUMMARY_COLUMNS = (
    "decay_epoch",
    "window_start_epoch",
    "window_end_epoch",
    "n_evals",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "spearman_rho",
    "spearman_pvalue",
)

log = logging.getLogger("latedecay.summary")


class MetricsError(ValueError):
    """A metrics.json file that does not follow the contract; names the file."""


def _require(ok, path, message):
    if not ok:
        raise MetricsError(f"{path}: {message}")


def _numbers(values):
    return isinstance(values, list) and all(isinstance(v, Real) and not isinstance(v, bool) for v in values)


def _check_eval(ev, path):
    _require(isinstance(ev, dict), path, "'eval' is not an object")
    for key in EVAL_KEYS:
        _require(key in ev, path, f"'eval' lacks '{key}'")
        _require(_numbers(ev[key]), path, f"'eval.{key}' is not a list of numbers")
        _require(len(ev[key]) == len(ev["epoch"]), path, f"'eval.{key}' and 'eval.epoch' differ in length")
    epochs = ev["epoch"]
    _require(all(a < b for a, b in zip(epochs, epochs[1:])), path, "'eval.epoch' is not increasing")


def load_metrics(path, expect_path):
    """Load one metrics.json and check the fields Fig. 1 uses; ``expect_path`` is "main" or "decay<E>"."""
    m = load_json(path)
    _require(isinstance(m, dict), path, "not a JSON object")
    for key in ("path", "start_epoch", "end_epoch", "epochs", "train_batch_loss", "eval"):
        _require(key in m, path, f"missing field '{key}'")
    _require(m["path"] == expect_path, path, f"'path' is {m['path']!r}, expected {expect_path!r}")
    start, end = m["start_epoch"], m["end_epoch"]
    _require(
        isinstance(start, int) and isinstance(end, int), path, "'start_epoch'/'end_epoch' are not integers"
    )
    _require(m["epochs"] == list(range(start + 1, end + 1)), path, f"'epochs' is not {start + 1}..{end}")
    _require(_numbers(m["train_batch_loss"]), path, "'train_batch_loss' is not a list of numbers")
    _require(
        len(m["train_batch_loss"]) == len(m["epochs"]),
        path,
        "'train_batch_loss' and 'epochs' differ in length",
    )
    _check_eval(m["eval"], path)
    ev_epochs = m["eval"]["epoch"]
    _require(all(start <= e <= end for e in ev_epochs), path, f"'eval.epoch' outside {start}..{end}")
    return m


def _curve(epochs, batch_loss, ev):
    return {
        "epochs": np.asarray(epochs, dtype=int),
        "train_batch_loss": np.asarray(batch_loss, dtype=float),
        "eval": {k: np.asarray(ev[k], dtype=int if k == "epoch" else float) for k in EVAL_KEYS},
    }


def load_main_path(paths):
    """Join the main-path segment files (any order) into one curve from epoch 0."""
    segments = sorted(
        ((load_metrics(p, "main"), p) for p in paths),
        key=lambda mp: (mp[0]["start_epoch"], mp[0]["end_epoch"]),
    )
    _require(bool(segments), "main path", "no metrics files given")
    epochs, batch_loss, ev = [], [], {k: [] for k in EVAL_KEYS}
    reached = 0
    for m, path in segments:
        _require(
            m["start_epoch"] == reached,
            path,
            f"starts at epoch {m['start_epoch']}, previous segment ended at {reached}",
        )
        _require(
            not ev["epoch"] or not m["eval"]["epoch"] or m["eval"]["epoch"][0] > ev["epoch"][-1],
            path,
            "repeats an evaluated epoch",
        )
        epochs += m["epochs"]
        batch_loss += m["train_batch_loss"]
        for k in EVAL_KEYS:
            ev[k] += m["eval"][k]
        reached = m["end_epoch"]
    return _curve(epochs, batch_loss, ev)


def load_subpaths(paths, decay_epochs):
    """Load one metrics file per subpath, sorted by decay epoch; ``decay_epochs`` pairs with ``paths``."""
    _require(
        len(paths) == len(decay_epochs),
        "subpaths",
        f"{len(paths)} files for {len(decay_epochs)} decay epochs",
    )
    subs = []
    for path, decay in zip(paths, decay_epochs):
        m = load_metrics(path, f"decay{decay}")
        _require(
            m.get("decay_epoch") == decay,
            path,
            f"'decay_epoch' is {m.get('decay_epoch')!r}, expected {decay}",
        )
        _require(m["start_epoch"] == 0, path, "subpath epochs must count after the decay (start_epoch 0)")
        curve = _curve(m["epochs"], m["train_batch_loss"], m["eval"])
        curve.update(decay_epoch=decay, file=str(path))
        subs.append(curve)
    return sorted(subs, key=lambda s: s["decay_epoch"])


def final_metrics(sub, k):
    """Mean of the last ``k`` evaluation logs of one subpath (all logs when fewer)."""
    ev = sub["eval"]
    n = len(ev["epoch"])
    if n == 0:
        raise MetricsError(f"{sub['file']}: no evaluation logs (is subpath.epochs < train.eval_every?)")
    if n < k:
        log.warning(
            "subpath decay%d has %d evaluation logs, fewer than fig1.final_window = %d: averaging all",
            sub["decay_epoch"],
            n,
            k,
        )
    last = slice(max(n - k, 0), n)
    row = {
        "decay_epoch": sub["decay_epoch"],
        "window_start_epoch": int(ev["epoch"][last][0]),
        "window_end_epoch": int(ev["epoch"][last][-1]),
        "n_evals": min(n, k),
    }
    row.update({key: float(np.mean(ev[key][last])) for key in EVAL_KEYS[1:]})
    return row


def spearman(decay_epochs, test_losses):
    """Spearman rank correlation of final test loss with decay epoch; NaN below 3 subpaths."""
    if len(decay_epochs) < 3:
        log.info("Spearman correlation needs at least 3 subpaths, got %d: writing NaN", len(decay_epochs))
        return math.nan, math.nan
    res = stats.spearmanr(decay_epochs, test_losses)
    if math.isnan(res.statistic):
        log.info("Spearman correlation undefined (constant decay epochs or final test losses): writing NaN")
    return float(res.statistic), float(res.pvalue)


def summarize(subs, k):
    """One row per subpath; the correlation over all subpaths is repeated on every row."""
    rows = [final_metrics(s, k) for s in subs]
    rho, p = spearman([r["decay_epoch"] for r in rows], [r["test_loss"] for r in rows])
    for row in rows:
        row.update(spearman_rho=rho, spearman_pvalue=p)
    return rows


def write_summary_csv(rows, path):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows({k: repr(v) if isinstance(v, float) else v for k, v in row.items()} for row in rows)
