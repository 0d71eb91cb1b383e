"""results/fig1_summary.csv: the final losses per seed and decay epoch, and pooled over seeds.

One row per seed x decay epoch (``seed`` = the seed), then per decay epoch three pooled
rows marked in the ``seed`` column: ``mean``, ``ci95_low``, ``ci95_high`` (Student-t
interval of the mean over seeds, empty with one seed). workflow/report/fig1_summary.rst
describes the columns.
"""

import logging
import math

import pandas as pd

from . import stats
from .names import EVAL_METRICS, run_label

log = logging.getLogger("latedecay.fig1")

POOLED = ("mean", "ci95_low", "ci95_high")  # seed-column marks of the pooled rows
VALUES = (*EVAL_METRICS, "main_test_loss", "main_test_acc", "gain_vs_main", "gain_vs_main_acc")
WINDOW = ("window_start_epoch", "window_end_epoch", "n_evals")
MAIN_WINDOW = ("main_epoch", "main_window_start_epoch", "main_window_end_epoch", "main_truncated")
INTEGERS = ("decay_epoch", *WINDOW, *MAIN_WINDOW[:3], "n_seeds")
COLUMNS = ("seed", "decay_epoch", *WINDOW, *EVAL_METRICS, *MAIN_WINDOW, *VALUES[4:], "n_seeds")
TYPES = {c: "Int64" for c in INTEGERS} | {"main_truncated": "boolean"}  # nullable: pooled CI rows leave gaps


def _last(frame, k, what):
    """The last ``k`` evaluations of ``frame`` and their mean (all when fewer, with a warning)."""
    if len(frame) < k:
        log.warning("%s has %d evaluation logs, fewer than fig1.final_window = %d: averaging all", what, len(frame), k)
    tail = frame.tail(k)
    return tail, tail[list(EVAL_METRICS)].mean()


def main_reference(main_eval, epoch, k):
    """The main path's smoothed test loss/acc at ``epoch``: the mean of its last k evaluations up to it.

    None where the main path ends before ``epoch`` (``main_truncated``): an earlier
    value is no reference for the same epochs, so that row has no gain.
    """
    if main_eval["epoch"].iloc[-1] < epoch:
        log.warning("the main path ends before epoch %d: no gain_vs_main there", epoch)
        return {"main_epoch": epoch, "main_truncated": True}
    tail, mean = _last(main_eval[main_eval["epoch"] <= epoch], k, f"main path up to epoch {epoch}")
    return {
        "main_epoch": epoch,
        "main_window_start_epoch": int(tail["epoch"].iloc[0]),
        "main_window_end_epoch": int(tail["epoch"].iloc[-1]),
        "main_truncated": False,
        "main_test_loss": mean["test_loss"],
        "main_test_acc": mean["test_acc"],
    }


def seed_rows(runs, k):
    """One row per seed x decay epoch: final metrics, the main path after as many epochs, the gains."""
    rows = []
    for (seed, decay), sub in runs.sub_eval.groupby(["seed", "decay_epoch"], sort=True):
        tail, final = _last(sub, k, f"seed {seed} subpath {run_label(decay)}")
        end = int(tail["epoch"].iloc[-1])
        row = {"seed": seed, "decay_epoch": decay, "window_start_epoch": int(tail["epoch"].iloc[0])}
        row.update(window_end_epoch=end, n_evals=len(tail), **final, n_seeds=1)
        row.update(main_reference(runs.main_eval[runs.main_eval["seed"] == seed], decay + end, k))
        row.update(gain_vs_main=row["test_loss"] - row.get("main_test_loss", math.nan))
        row.update(gain_vs_main_acc=row["test_acc"] - row.get("main_test_acc", math.nan))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _common(values):
    """A descriptor shared by every seed, else missing."""
    return values.iloc[0] if values.nunique(dropna=False) == 1 else None


def pooled_rows(per_seed):
    """Rows ``mean``, ``ci95_low``, ``ci95_high`` per decay epoch, over the seeds."""
    rows = []
    for decay, group in per_seed.groupby("decay_epoch", sort=True):
        cis = {c: stats.mean_ci(group[c]) for c in VALUES}
        shared = {c: _common(group[c]) for c in (*WINDOW, *MAIN_WINDOW)}
        base = {"decay_epoch": decay, "n_seeds": len(group)}
        rows.append({**base, **shared, "seed": "mean", **{c: m for c, (m, _) in cis.items()}})
        for i, mark in enumerate(POOLED[1:]):
            rows.append({**base, "seed": mark, **{c: ci[i] for c, (_, ci) in cis.items()}})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def summary_table(runs, final_window):
    """results/fig1_summary.csv: per-seed rows, then the pooled rows."""
    per_seed = seed_rows(runs, final_window)
    frames = [f for f in (per_seed, pooled_rows(per_seed)) if not f.empty]
    table = pd.concat(frames, ignore_index=True) if frames else per_seed
    return table.astype(TYPES)


def read_table(path):
    """results/fig1_summary.csv as ``summary_table`` made it (``seed`` as text: seeds and marks)."""
    return pd.read_csv(path, dtype={"seed": str}).astype(TYPES)


def per_seed_rows(table):
    return table[~table["seed"].astype(str).isin(POOLED)]
