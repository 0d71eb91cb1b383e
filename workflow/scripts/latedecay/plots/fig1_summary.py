"""Fig. 1's numbers: metrics.json files -> tidy frames -> summary table and verdict.

metrics.json (one per main-path segment, one per subpath) holds ``path``
("main" or "decay<E>"), ``decay_epoch``, ``start_epoch``, ``end_epoch``,
``epochs`` (start+1 .. end), ``train_batch_loss`` (one per epoch) and ``eval``
(lists ``epoch``, ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``).
Subpath epochs count after the decay, so a subpath starts at epoch 0.

Seeds: the rules pass every file list **seed-major** (all files of the first seed,
then the next seed's, ...; main-path segments in any order within a seed, subpaths
in the order of ``decay_epochs``) together with the list of seeds.

Outputs (``summary_table``, ``verdict``): results/fig1_summary.csv has one row
per seed x decay epoch (``seed`` = the seed) and, per decay epoch, three pooled
rows over the seeds marked in the ``seed`` column: ``mean``, ``ci95_low`` and
``ci95_high`` (Student-t interval of the mean, empty with one seed).
results/fig1_verdict.json holds the statistics behind the paper's claim and one
sentence saying whether this run can test it, and what it shows.
"""

import logging
import math
import re
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd

from latedecay import stats
from latedecay.io import load_json
from latedecay.names import EVAL_METRICS, MAIN, run_label

log = logging.getLogger("latedecay.fig1")

POOLED = ("mean", "ci95_low", "ci95_high")  # seed-column marks of the pooled rows
VALUES = (*EVAL_METRICS, "main_test_loss", "main_test_acc", "gain_vs_main", "gain_vs_main_acc")
WINDOW = ("window_start_epoch", "window_end_epoch", "n_evals")
MAIN_WINDOW = ("main_epoch", "main_window_start_epoch", "main_window_end_epoch", "main_truncated")
INTEGERS = ("decay_epoch", *WINDOW, *MAIN_WINDOW[:3], "n_seeds")
COLUMNS = ("seed", "decay_epoch", *WINDOW, *EVAL_METRICS, *MAIN_WINDOW, *VALUES[4:], "n_seeds")
# Main-path progress that explains half or more of the subpaths' trend: not a plateau.
EXPLAINS = 0.5
PLATEAU_RULE = (
    "not a plateau iff the 95% CI of the seed-mean main path's test-loss slope over [first decay, last decay] "
    "(OLS; effective-sample-size CI for AR(1) noise) lies below 0 and |main_slope| >= 0.5 |slope_vs_decay|; "
    "the same test on the test accuracy (CI above 0, main_slope_acc against slope_vs_decay_acc) gives plateau_acc"
)
ALPHA = 0.05  # level of the exact Spearman test used when there is no CI over seeds


@dataclass(frozen=True)
class Settings:
    """The rule's ``params.options`` (config["fig1"]) plus, for the figure, ``params.labels``."""

    final_window: int
    smooth_epochs: int
    heatmap_train: str
    log_color: bool
    main_lr: float | None = None
    sub_lr: float | None = None
    arch: str | None = None
    loss: str | None = None
    eval_set: str | None = None
    eval_limit: int | None = None

    @classmethod
    def from_params(cls, options, labels=None):
        return cls(**options, **(labels or {}))


# ---------------------------------------------------------------- loading


class MetricsError(ValueError):
    """A metrics.json file that does not follow the contract; names the file."""


def _require(ok, path, message):
    if not ok:
        raise MetricsError(f"{path}: {message}")


def _numbers(values):
    return isinstance(values, list) and all(isinstance(v, Real) and not isinstance(v, bool) for v in values)


def _check_eval(ev, path):
    _require(isinstance(ev, dict), path, "'eval' is not an object")
    for key in ("epoch", *EVAL_METRICS):
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
        len(m["train_batch_loss"]) == len(m["epochs"]), path, "'train_batch_loss' and 'epochs' differ in length"
    )
    _check_eval(m["eval"], path)
    _require(all(start <= e <= end for e in m["eval"]["epoch"]), path, f"'eval.epoch' outside {start}..{end}")
    return m


def split_seed_major(files, seeds):
    """[(seed, its files)] from a seed-major list: every seed has the same number of files."""
    files, seeds = list(files), list(seeds)
    _require(bool(seeds), "fig1", "no seeds given")
    _require(len(files) % len(seeds) == 0, "fig1", f"{len(files)} files do not split over {len(seeds)} seeds")
    per = len(files) // len(seeds)
    groups = [(seed, files[i * per : (i + 1) * per]) for i, seed in enumerate(seeds)]
    for seed, paths in groups:
        for path in paths:
            # Guard the seed-major order wherever the path names its seed (results/seed<S>/...).
            named = re.findall(r"^seed(\d+)$", "\n".join(Path(path).parts), re.M)
            _require(not named or int(named[-1]) == seed, path, f"listed under seed {seed}")
    return groups


def _frames(m):
    ev = pd.DataFrame({k: m["eval"][k] for k in ("epoch", *EVAL_METRICS)}).astype({"epoch": int})
    batch = pd.DataFrame({"epoch": m["epochs"], "train_batch_loss": m["train_batch_loss"]}, dtype=float)
    return ev, batch.astype({"epoch": int})


def load_main_path(paths):
    """Join one seed's main-path segment files (any order) into (evaluations, mini-batch losses)."""
    segments = sorted(
        ((load_metrics(p, MAIN), p) for p in paths), key=lambda mp: (mp[0]["start_epoch"], mp[0]["end_epoch"])
    )
    _require(bool(segments), "main path", "no metrics files given")
    reached, last_eval = 0, -1
    for m, path in segments:
        start = m["start_epoch"]
        _require(start == reached, path, f"starts at epoch {start}, previous segment ended at {reached}")
        first = m["eval"]["epoch"][:1]
        _require(not first or first[0] > last_eval, path, "repeats an evaluated epoch")
        reached, last_eval = m["end_epoch"], (m["eval"]["epoch"] or [last_eval])[-1]
    ev, batch = zip(*(_frames(m) for m, _ in segments))
    return pd.concat(ev, ignore_index=True), pd.concat(batch, ignore_index=True)


def load_subpath(path, decay):
    """One subpath's (evaluations, mini-batch losses), each with its ``decay_epoch``."""
    m = load_metrics(path, run_label(decay))
    _require(m.get("decay_epoch") == decay, path, f"'decay_epoch' is {m.get('decay_epoch')!r}, expected {decay}")
    _require(m["start_epoch"] == 0, path, "subpath epochs must count after the decay (start_epoch 0)")
    _require(bool(m["eval"]["epoch"]), path, "no evaluation logs (is subpath.epochs < train.eval_every?)")
    return tuple(f.assign(decay_epoch=decay) for f in _frames(m))


@dataclass(frozen=True)
class Runs:
    """Every seed's main path and subpaths as tidy frames (``seed`` column; subpath epochs after the decay)."""

    main_eval: pd.DataFrame  # seed, epoch, EVAL_METRICS
    main_batch: pd.DataFrame  # seed, epoch, train_batch_loss
    sub_eval: pd.DataFrame  # seed, decay_epoch, epoch, EVAL_METRICS
    sub_batch: pd.DataFrame  # seed, decay_epoch, epoch, train_batch_loss
    seeds: tuple
    decay_epochs: tuple  # sorted


def _concat(parts, i, columns):
    """Item ``i`` of every loaded (evaluations, mini-batch) pair, stacked; empty with the columns if none."""
    frames = [part[i] for part in parts]
    return pd.concat(frames, ignore_index=True)[list(columns)] if frames else pd.DataFrame(columns=list(columns))


def _with_seed(frames, seed):
    return tuple(f.assign(seed=seed) for f in frames)


def load_runs(main_files, sub_files, seeds, decay_epochs):
    """Load seed-major file lists (see the module docstring) into ``Runs``."""
    decays = [int(d) for d in decay_epochs]
    _require(len(set(decays)) == len(decays), "fig1", f"decay epochs repeat: {decays}")
    _require(
        len(sub_files) == len(seeds) * len(decays), "subpaths",
        f"{len(sub_files)} files for {len(seeds)} seeds x {len(decays)} decay epochs",
    )  # fmt: skip
    main = [_with_seed(load_main_path(paths), s) for s, paths in split_seed_major(main_files, seeds)]
    sub = [
        _with_seed(load_subpath(path, d), s)
        for s, paths in split_seed_major(sub_files, seeds)
        for path, d in zip(paths, decays)
    ]
    keys = ("seed", "decay_epoch", "epoch")
    return Runs(
        main_eval=_concat(main, 0, ("seed", "epoch", *EVAL_METRICS)),
        main_batch=_concat(main, 1, ("seed", "epoch", "train_batch_loss")),
        sub_eval=_concat(sub, 0, (*keys, *EVAL_METRICS)),
        sub_batch=_concat(sub, 1, (*keys, "train_batch_loss")),
        seeds=tuple(seeds),
        decay_epochs=tuple(sorted(decays)),
    )


# ---------------------------------------------------------------- summary table


def _last(frame, k, what):
    """Mean of the last ``k`` evaluations of ``frame`` (all when fewer, with a warning)."""
    if len(frame) < k:
        log.warning("%s has %d evaluation logs, fewer than fig1.final_window = %d: averaging all", what, len(frame), k)
    tail = frame.tail(k)
    return tail, tail[list(EVAL_METRICS)].mean()


def main_reference(main_eval, epoch, k):
    """The main path's smoothed test loss/acc at ``epoch``: mean of its last k evaluations up to it.

    When the main path ends before ``epoch`` this is its last smoothed value
    (``main_truncated``).
    """
    before = main_eval[main_eval["epoch"] <= epoch]
    _require(not before.empty, "main path", f"no evaluation at or before epoch {epoch}")
    tail, mean = _last(before, k, f"main path up to epoch {epoch}")
    if main_eval["epoch"].iloc[-1] < epoch:
        log.info("main path ends before epoch %d: gain_vs_main uses its last smoothed value there", epoch)
    return {
        "main_epoch": epoch,
        "main_window_start_epoch": int(tail["epoch"].iloc[0]),
        "main_window_end_epoch": int(tail["epoch"].iloc[-1]),
        "main_truncated": bool(main_eval["epoch"].iloc[-1] < epoch),
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
        row.update(window_end_epoch=end, n_evals=len(tail), **final)
        row.update(main_reference(runs.main_eval[runs.main_eval["seed"] == seed], decay + end, k))
        row.update(gain_vs_main=row["test_loss"] - row["main_test_loss"])
        row.update(gain_vs_main_acc=row["test_acc"] - row["main_test_acc"], n_seeds=1)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _common(values):
    """A descriptor shared by every seed, else missing."""
    return values.iloc[0] if values.nunique() == 1 else None


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


def summary_table(runs, settings):
    """results/fig1_summary.csv: per-seed rows, then the pooled rows (module docstring)."""
    per_seed = seed_rows(runs, settings.final_window)
    frames = [f for f in (per_seed, pooled_rows(per_seed)) if not f.empty]
    table = pd.concat(frames, ignore_index=True) if frames else per_seed
    # Nullable types: pooled CI rows leave the descriptors empty, and integers stay integers.
    return table.astype({c: "Int64" for c in INTEGERS} | {"main_truncated": "boolean"})


def per_seed_rows(table):
    return table[~table["seed"].isin(POOLED)]


# ---------------------------------------------------------------- verdict


def _ci(values):
    return list(values) if all(math.isfinite(v) for v in values) else None


def _fmt_ci(ci):
    return f"95% CI [{ci[0]:+.2e}, {ci[1]:+.2e}]"


def decay_effect(decays, finals, better):
    """Spearman test and OLS slope of a final metric against decay epoch; ``finals`` is seeds x decays.

    The rank test and the slope use the seed means. ``better`` is -1 for a loss
    (lower is better), +1 for an accuracy. The outcome ("helps", "does not help",
    None when untestable) rests on the slope's CI over seeds (Student t of the
    per-seed slopes) with >= 2 seeds, else on the exact Spearman test of the one
    seed (p < ALPHA in the better direction).
    """
    if len(decays) < 2:
        return stats.spearman_test(decays, decays), math.nan, stats.NAN_CI, None, "needs >= 2 decay epochs"
    means = finals.mean(axis=0)
    rank = stats.spearman_test(decays, means)
    slope = float(stats.ols_slope(decays, means))
    ci = stats.mean_ci(stats.ols_slope(decays, finals, axis=1))[1]
    if _ci(ci):
        helps = stats.ci_sign(ci) == better
        evidence = f"slope {slope:+.2e} per decay epoch, {_fmt_ci(ci)}"
    elif math.isfinite(rank.p) and 2 / math.factorial(rank.n) > ALPHA:
        return rank, slope, ci, None, f"1 seed, {rank.n} decay epochs: no exact test reaches p < {ALPHA}"
    elif math.isfinite(rank.p):
        helps = rank.p < ALPHA and np.sign(rank.rho) == better
        kind = "exact" if rank.exact else "permutation"
        evidence = f"Spearman rho {rank.rho:+.2f}, {kind} p = {rank.p:.2g}; no CI with 1 seed"
    else:
        return rank, slope, ci, None, f"Spearman test {rank.why}"
    return rank, slope, ci, "helps" if helps else "does not help", evidence


def is_plateau(main, subpath_slope, better=-1):
    """False when the main path's test loss still falls fast enough to explain the subpaths' trend
    (``better`` = +1: the same for an accuracy that still rises).

    Not a plateau iff the 95% CI of the main path's test-loss slope over the decay
    window lies below 0 and the slope is at least EXPLAINS (half) of the subpaths'
    slope of final test loss against decay epoch in magnitude: main-path progress
    alone then accounts for half or more of what decaying later seems to gain. A
    flat or rising main path is a plateau for the claim. None when the slope has no
    CI (fewer than 3 evaluations in the window).
    """
    if _ci(main.ci) is None:
        return None
    against = abs(subpath_slope) if math.isfinite(subpath_slope) else 0.0
    return not (stats.ci_sign(main.ci) == better and abs(main.slope) >= EXPLAINS * against)


def main_trends(runs):
    """Window [first decay, last decay] and the test loss and accuracy trends of the seed-mean main path in it."""
    decays = runs.decay_epochs or (0,)
    window = (decays[0], decays[-1])
    inside = runs.main_eval[runs.main_eval["epoch"].between(*window)]
    curve = inside.groupby("epoch")[["test_loss", "test_acc"]].mean()
    return window, stats.trend(curve.index, curve["test_loss"]), stats.trend(curve.index, curve["test_acc"])


def _head(loss, acc):
    if loss == acc:
        return f"later decay {loss}" if loss else "this run cannot tell whether later decay helps"
    phrase = {"helps": "helps", "does not help": "does not help", None: "cannot be judged on"}
    return f"later decay {phrase[loss]} the test loss and {phrase[acc]} the test accuracy"


def sentence(plateau, window, trends, effects, plateau_acc=True):
    """The verdict: plateau or not, and (in a plateau) whether later decay helps, with the evidence."""
    if plateau is None:
        return (
            "cannot test the paper's claim: the main path needs >= 3 evaluations between the first and "
            f"last decay epoch (window {window[0]}-{window[1]})"
        )
    loss, acc = trends
    if not plateau:
        return (
            f"not in the plateau regime: the main path is still improving (test loss {loss.slope:+.2e}/epoch "
            f"over epochs {window[0]}-{window[1]}, {_fmt_ci(loss.ci)}; test accuracy {acc.slope:+.2e}/epoch, "
            f"{_fmt_ci(acc.ci)}); this run cannot test the paper's claim"
        )
    (o_loss, ev_loss), (o_acc, ev_acc) = effects
    if plateau_acc is False:  # the accuracy's own main-path progress would explain its trend
        o_acc = None
        ev_acc = (f"the main path's test accuracy still rises, {acc.slope:+.2e}/epoch, {_fmt_ci(acc.ci)}, "
                  f"enough to explain the trend ({ev_acc})")  # fmt: skip
    return f"plateau regime: {_head(o_loss, o_acc)} (test loss: {ev_loss}; test accuracy: {ev_acc})"


def _decay_stats(out, rows, decays):
    """Spearman, slope and gain entries for loss and accuracy; returns the two (outcome, evidence)."""
    effects = []
    for suffix, metric, better in (("", "test_loss", -1), ("_acc", "test_acc", 1)):
        finals = rows.pivot(index="seed", columns="decay_epoch", values=metric).to_numpy(dtype=float)
        rank, slope, ci, outcome, evidence = decay_effect(decays, finals, better)
        out[f"spearman_rho{suffix}"], out[f"spearman_p{suffix}"] = rank.rho, rank.p
        out[f"slope_vs_decay{suffix}"], out[f"slope_vs_decay{suffix}_ci95"] = slope, _ci(ci)
        out[f"later_decay{suffix}"] = outcome
        gain = rows[f"gain_vs_main{suffix}"]
        out[f"gain_vs_main{suffix}"] = float(gain.mean()) if len(gain) else None
        out[f"gain_vs_main{suffix}_ci95"] = _ci(stats.mean_ci(gain.groupby(rows["seed"]).mean())[1])
        effects.append((outcome, evidence))
    out.update(spearman_n=len(decays), spearman_p_method=_p_method(len(decays)))
    return effects


def verdict(runs, table):
    """results/fig1_verdict.json as a dict: the statistics behind the claim and one sentence (NaN-free)."""
    rows = per_seed_rows(table)
    n_seeds, decays = len(runs.seeds), np.array(runs.decay_epochs, dtype=float)
    out = {"n_seeds": n_seeds, "seeds": list(runs.seeds), "decay_epochs": list(runs.decay_epochs)}
    out["ci95_reason"] = None if n_seeds >= 2 else f"intervals over seeds need >= 2 seeds, got {n_seeds}"
    effects = _decay_stats(out, rows, decays)
    window, loss, acc = main_trends(runs)
    plateau = is_plateau(loss, out["slope_vs_decay"])
    out.update(main_window=list(window), main_slope=loss.slope, main_slope_ci95=_ci(loss.ci))
    out.update(main_slope_acc=acc.slope, main_slope_acc_ci95=_ci(acc.ci))
    out.update(main_n_evals=loss.n, main_n_eff=loss.n_eff, main_autocorr=loss.autocorr)
    out["main_change"] = loss.slope * (window[1] - window[0])
    truncated = rows.loc[rows["main_truncated"].astype(bool), "decay_epoch"]
    out["gain_main_truncated"] = sorted({int(d) for d in truncated})
    plateau_acc = is_plateau(acc, out["slope_vs_decay_acc"], better=1)
    out.update(plateau=plateau, plateau_acc=plateau_acc, plateau_rule=PLATEAU_RULE)
    if plateau_acc is False:
        out["later_decay_acc"] = None  # not testable on the accuracy: the main path still improves it
    out["verdict"] = sentence(plateau, window, (loss, acc), effects, plateau_acc)
    return _json_ready(out)


def _p_method(n):
    if n < 3:
        return None
    if math.factorial(n) <= stats.PERMUTATIONS:
        return f"exact: all {math.factorial(n)} pairings"
    return f"Monte Carlo: {stats.PERMUTATIONS} random pairings"


def _json_ready(value):
    """Plain JSON types; NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if value is None or isinstance(value, (str, bool, np.bool_)):
        return bool(value) if isinstance(value, np.bool_) else value
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def analyze(runs, settings):
    """(summary table, verdict dict): everything Fig. 1 and its two result files report."""
    table = summary_table(runs, settings)
    return table, verdict(runs, table)
