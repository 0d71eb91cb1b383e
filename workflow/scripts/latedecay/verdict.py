"""results/fig1_verdict.json: does decaying later gain more than the main path's own progress?

The paper's claim is paired. Per seed and decay epoch D, ``gain`` is the subpath's
final test loss minus the main path's over the same absolute epochs (``gain_vs_main``
of results/fig1_summary.csv). Per seed, the OLS slope of gain against D; over seeds,
its mean with a Student-t interval (df = seeds - 1); ``gain_change`` is that slope
times the window D_last - D_first (loss units across the window). Rows without a
main-path reference (``main_truncated``) enter no slope and no mean. The outcome
(``OUTCOMES``) rests on gain_change alone; the main path's regime is described beside
it (``REGIMES``), never a gate. The test loss is the primary endpoint, the test
accuracy secondary. workflow/report/fig1_verdict.rst lists the keys.
"""

import math
from dataclasses import dataclass

import numpy as np

from . import stats
from .fig1_table import per_seed_rows, summary_table

OUTCOMES = ("helps", "hurts", "equivalent", "inconclusive")
REGIMES = ("still improving", "flat", "rising", "unclear")
ALPHA, POWER = 0.05, 0.8  # level of the tests; power at which the mde is stated
MIN_DECAYS = 3  # usable decay epochs below which a slope over seeds says too little
FRACTION = 0.2  # main_change: last fifth of the decay window minus its first fifth


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: the suffix of its keys, its summary-table columns, the side that is better."""

    suffix: str
    final: str  # the subpaths' final value
    gain: str  # the paired gain column
    better: int  # -1: lower is better (a loss), +1: higher (an accuracy)
    margin_key: str  # its equivalence margin in config["verdict"]
    name: str


LOSS = Endpoint("", "test_loss", "gain_vs_main", -1, "margin", "the test loss")
ACC = Endpoint("_acc", "test_acc", "gain_vs_main_acc", 1, "margin_acc", "the test accuracy")
ENDPOINTS = (LOSS, ACC)


@dataclass(frozen=True)
class Effect:
    """The paired effect of one endpoint and what it decides."""

    slope: float
    slope_ci: tuple
    change: float
    change_ci: tuple
    tost_p: float
    mde: float
    outcome: str
    reason: str


def _fmt_ci(ci):
    return "no CI" if not all(math.isfinite(v) for v in ci) else f"95% CI [{ci[0]:+.2e}, {ci[1]:+.2e}]"


def _decide(change_ci, tost_p, margin, better, untestable):
    """(outcome, reason): helps / hurts by the CI's side, equivalent by TOST, else inconclusive."""
    if untestable:
        return "inconclusive", "; ".join(untestable)
    side = stats.ci_sign(change_ci)
    where = "below" if side < 0 else "above"
    if side == better:
        return "helps", f"the 95% CI of gain_change lies {where} 0, on the better side"
    if side == -better:
        return "hurts", f"the 95% CI of gain_change lies {where} 0, on the worse side"
    if tost_p < ALPHA:
        return "equivalent", f"two one-sided t tests put gain_change inside +-{margin:g} (p = {tost_p:.2g})"
    return "inconclusive", f"the 95% CI of gain_change holds 0 and reaches beyond +-{margin:g}"


def untestable_reasons(n_seeds, n_decays, truncated=()):
    """Why no outcome but "inconclusive" is possible (empty when the effect is testable)."""
    out = []
    if n_seeds < 2:
        out.append(f"{n_seeds} seed: gain_change has no interval over seeds (needs >= 2 seeds)")
    if n_decays < MIN_DECAYS:
        cut = f"; decay epochs {list(truncated)} have no main-path reference" if len(truncated) else ""
        out.append(f"{n_decays} usable decay epochs (needs >= {MIN_DECAYS}){cut}")
    return out


def paired_effect(decays, gains, margin, better, truncated=()):
    """``Effect`` of ``gains`` (seeds x usable decay epochs ``decays``) against the decay epoch."""
    decays, gains = np.asarray(decays, dtype=float), np.asarray(gains, dtype=float)
    n_seeds = gains.shape[0]
    slopes = stats.ols_slope(decays, gains, axis=1) if len(decays) >= 2 else np.full(n_seeds, math.nan)
    changes = slopes * (decays[-1] - decays[0] if len(decays) else math.nan)
    slope, slope_ci = stats.mean_ci(slopes)
    change, change_ci = stats.mean_ci(changes)
    tost_p = stats.tost_p(changes, margin)
    mde = stats.t_mde(float(np.std(changes, ddof=1)) if n_seeds > 1 else math.nan, n_seeds, POWER, ALPHA)
    why = untestable_reasons(n_seeds, len(decays), truncated)
    return Effect(slope, slope_ci, change, change_ci, tost_p, mde, *_decide(change_ci, tost_p, margin, better, why))


def usable_decays(rows):
    """Decay epochs whose every seed has a main-path reference, and those that have none."""
    cut = rows.groupby("decay_epoch")["main_truncated"].any()
    return [int(d) for d in cut.index[~cut]], [int(d) for d in cut.index[cut]]


def _pivot(rows, column, seeds, decays):
    """Seeds x decays array of a column of the per-seed rows (NaN where a row is missing)."""
    if rows.empty:
        return np.full((len(seeds), len(decays)), math.nan)
    wide = rows.astype({"seed": int}).pivot(index="seed", columns="decay_epoch", values=column)
    return wide.reindex(index=list(seeds), columns=list(decays)).to_numpy(float)


def main_change(runs, window, column):
    """(change, 95% CI, method) of the main path's ``column`` between the window's first and last fifth.

    Several seeds: per seed the difference of the block means, t interval over seeds.
    One seed: ``stats.end_change_ci`` (AR(1)-aware, within the run).
    """
    inside = runs.main_eval[runs.main_eval["epoch"].between(*window)]
    per_seed = [(g["epoch"].to_numpy(float), g[column].to_numpy(float)) for _, g in inside.groupby("seed")]
    if window[1] <= window[0] or not per_seed or min(len(x) for x, _ in per_seed) < 2:
        return math.nan, stats.NAN_CI, "needs >= 2 main-path evaluations in the decay window"
    if len(per_seed) >= 2:
        mean, ci = stats.mean_ci([stats.end_change(x, y, FRACTION) for x, y in per_seed])
        return mean, ci, f"block means, t interval over {len(per_seed)} seeds"
    change, ci = stats.end_change_ci(*per_seed[0], FRACTION)
    return change, ci, "block means, AR(1)-aware interval within the one seed"


def regime(ci, margin):
    """(regime, reason) of the main path from its main_change interval."""
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "unclear", "main_change has no interval"
    if -margin < lo and hi < margin:
        return "flat", f"the 95% CI of main_change lies inside +-{margin:g}"
    if hi < 0:
        return "still improving", "the 95% CI of main_change lies below 0"
    if lo > 0:
        return "rising", "the 95% CI of main_change lies above 0"
    return "unclear", f"the 95% CI of main_change holds 0 and reaches beyond +-{margin:g}"


def raw_trend(decays, finals):
    """Descriptive: Spearman test and OLS slope (CI over per-seed slopes) of the raw finals against D."""
    if len(decays) < 2:
        return stats.spearman_test(decays, decays), math.nan, stats.NAN_CI
    means = finals.mean(axis=0)
    slope = float(stats.ols_slope(decays, means))
    return stats.spearman_test(decays, means), slope, stats.mean_ci(stats.ols_slope(decays, finals, axis=1))[1]


def _p_method(n):
    if n < 3:
        return None
    if math.factorial(n) <= stats.PERMUTATIONS:
        return f"exact: all {math.factorial(n)} pairings"
    return f"Monte Carlo: {stats.PERMUTATIONS} random pairings"


HEADS = {
    "helps": "later decay helps {name}",
    "hurts": "later decay hurts {name}",
    "equivalent": "later decay makes no difference to {name}",
    "inconclusive": "this run cannot tell whether later decay helps {name}",
}


def _evidence(e, window, margin):
    """gain_change, its CI, and the margin (equivalent) or the mde (inconclusive) with the reason."""
    span = f" over decay epochs {window[0]}-{window[1]}" if window else ""
    text = f"gain_change {e.change:+.2e}{span}, {_fmt_ci(e.change_ci)}"
    if e.outcome == "equivalent":
        text += f", inside +-{margin:g}"
    if e.outcome in ("equivalent", "inconclusive"):
        if math.isfinite(e.mde):
            text += f"; a change smaller than {e.mde:.2g} would go unseen"
        if e.outcome == "inconclusive":
            text += f"; {e.reason}"
    return text


def sentence(effects, window, regime_text, margins):
    """One sentence: the test-loss outcome and its evidence, then the regime, then the accuracy."""
    loss, acc = (effects[p.suffix] for p in ENDPOINTS)
    return (
        f"{HEADS[loss.outcome].format(name=LOSS.name)} ({_evidence(loss, window, margins[LOSS.margin_key])}); "
        f"{regime_text}; test accuracy: {HEADS[acc.outcome].format(name='it')} "
        f"({_evidence(acc, window, margins[ACC.margin_key])})"
    )


def rule(margins):
    """verdict_rule: how each outcome is decided, in one paragraph."""
    return (
        "Primary endpoint: the test loss; the test accuracy is secondary and decided the same way. Per seed, "
        "gain = subpath final minus the main path over the same epochs; gain_change = mean over seeds of the "
        "per-seed OLS slope of gain against the decay epoch, times the window of usable decay epochs (rows "
        "without a main-path reference are left out). In this order: helps / hurts when the Student-t 95% CI "
        f"of gain_change (df = seeds - 1) lies wholly on the better / worse side of 0; equivalent when two "
        f"one-sided t tests at {ALPHA:g} put it inside +-verdict.margin ({margins[LOSS.margin_key]:g}; accuracy "
        f"+-verdict.margin_acc, {margins[ACC.margin_key]:g}); inconclusive otherwise, and always with 1 seed or "
        f"fewer than {MIN_DECAYS} usable decay epochs. mde: the smallest |gain_change| a two-sided t test "
        f"detects with {POWER:.0%} power at {ALPHA:g} given the seeds' spread. The regime describes the main path "
        "(main_change: its mean over the last fifth of the decay window minus the first fifth) and decides "
        "nothing: flat when its 95% CI lies inside +-verdict.margin, still improving / rising when below / "
        "above 0, else unclear; plateau means flat. Spearman and slope_vs_decay of the raw finals are descriptive."
    )


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


def _endpoint_keys(out, p, rows, seeds, decays, truncated, margin):
    """Raw descriptive trend, pooled gain and the paired effect of endpoint ``p``; returns the Effect."""
    s, usable = p.suffix, out["gain_decay_epochs"]
    rank, slope, ci = raw_trend(decays, _pivot(rows, p.final, seeds, decays))
    out[f"spearman_rho{s}"], out[f"spearman_p{s}"] = rank.rho, rank.p
    out[f"slope_vs_decay{s}"], out[f"slope_vs_decay{s}_ci95"] = slope, ci
    gains = _pivot(rows, p.gain, seeds, usable)
    # Balanced seeds x decays: the mean of the per-seed means is the pooled mean.
    out[p.gain], out[f"{p.gain}_ci95"] = stats.mean_ci(gains.mean(axis=1) if usable else [])
    e = paired_effect(usable, gains, margin, p.better, truncated)
    out.update({f"gain_slope{s}": e.slope, f"gain_slope{s}_ci95": e.slope_ci, f"gain_change{s}": e.change})
    out.update({f"gain_change{s}_ci95": e.change_ci, f"gain_change{s}_tost_p": e.tost_p, f"mde{s}": e.mde})
    out.update({f"later_decay{s}": e.outcome, f"later_decay{s}_reason": e.reason})
    return e


def verdict(runs, table, margins):
    """results/fig1_verdict.json as a dict (NaN-free); ``margins`` is config["verdict"]."""
    rows = per_seed_rows(table)
    n_seeds, decays = len(runs.seeds), runs.decay_epochs
    out = {"n_seeds": n_seeds, "seeds": list(runs.seeds), "decay_epochs": list(runs.decay_epochs)}
    out["ci95_reason"] = None if n_seeds >= 2 else f"intervals over seeds need >= 2 seeds, got {n_seeds}"
    usable, truncated = usable_decays(rows) if len(rows) else ([], [])
    out.update(gain_decay_epochs=usable, gain_main_truncated=truncated, **margins)
    effects = {
        p.suffix: _endpoint_keys(out, p, rows, runs.seeds, runs.decay_epochs, truncated, margins[p.margin_key])
        for p in ENDPOINTS
    }
    out.update(spearman_n=len(decays), spearman_p_method=_p_method(len(decays)))
    window = (runs.decay_epochs[0], runs.decay_epochs[-1]) if runs.decay_epochs else (0, 0)
    out["main_window"] = list(window)
    for p in ENDPOINTS:  # the same method for both (it depends on the seeds and the window)
        change, ci, out["main_change_method"] = main_change(runs, window, p.final)
        out[f"main_change{p.suffix}"], out[f"main_change{p.suffix}_ci95"] = change, ci
    out["regime"], out["regime_reason"] = regime(out["main_change_ci95"], margins[LOSS.margin_key])
    out["plateau"] = out["regime"] == "flat"
    regime_text = (
        f"main path {out['regime']} (main_change {out['main_change']:+.2e} over epochs "
        f"{window[0]}-{window[1]}, {_fmt_ci(out['main_change_ci95'])})"
    )
    gain_window = (usable[0], usable[-1]) if usable else None
    out["verdict"] = sentence(effects, gain_window, regime_text, margins)
    out["verdict_rule"] = rule(margins)
    return _json_ready(out)


def analyze(runs, final_window, margins):
    """(summary table, verdict dict): what results/fig1_summary.csv and fig1_verdict.json hold."""
    table = summary_table(runs, final_window)
    return table, verdict(runs, table, margins)
