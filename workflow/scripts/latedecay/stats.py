"""Generic statistics of the figures: means with CIs, exact rank tests, trends of noisy curves.

Conventions: a confidence interval is a ``(low, high)`` pair of floats, NaN
where it is undefined (too few values); callers turn NaN into ``null``.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
# Up to 8 points (8! = 40,320 pairings) the permutation test enumerates every pairing;
# beyond, it draws this many at random.
PERMUTATIONS = 100_000
NAN_CI = (math.nan, math.nan)


def ols_slope(x, y, axis=-1):
    """Least-squares slope of ``y`` against ``x`` along ``axis`` (vectorized over the rest)."""
    x = np.asarray(x, dtype=float)
    y = np.moveaxis(np.asarray(y, dtype=float), axis, -1)
    xc = x - x.mean()
    return (y * xc).sum(-1) / (xc @ xc)


def mean_ci(values, level=LEVEL):
    """Mean and Student-t confidence interval of the mean; CI NaN below 2 values.

    The t interval keeps its level with few replicates (3 seeds), where a bootstrap
    over them does not: tests/test_stats.py measures both.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return math.nan, NAN_CI
    if v.size < 2:
        return float(v.mean()), NAN_CI
    if np.ptp(v) == 0:  # scipy warns on zero spread; the interval is the point
        return float(v[0]), (float(v[0]), float(v[0]))
    ci = stats.ttest_1samp(v, 0.0).confidence_interval(level)
    return float(v.mean()), (float(ci.low), float(ci.high))


@dataclass(frozen=True)
class RankTest:
    """Spearman correlation with its permutation p-value; ``why`` says what is missing."""

    rho: float
    p: float
    exact: bool
    n: int
    why: str = ""


def spearman_test(x, y, n_resamples=PERMUTATIONS, seed=0):
    """Spearman rho and a two-sided permutation p (exact when n! <= ``n_resamples``).

    The asymptotic p of ``scipy.stats.spearmanr`` is wrong for a handful of points
    (it reads 0.0 for rho = -1 at n = 6, where the exact value is 2/6! = 0.0028).
    """
    n = len(x)
    if n < 3:
        return RankTest(math.nan, math.nan, False, n, f"needs >= 3 points, got {n}")
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return RankTest(math.nan, math.nan, False, n, "undefined: constant values")

    def rho(ranks, axis=-1):
        return stats.pearsonr(rx, ranks, axis=axis).statistic

    res = stats.permutation_test(
        (ry,), rho, permutation_type="pairings", n_resamples=n_resamples, rng=seed
    )
    exact = math.factorial(n) <= n_resamples
    return RankTest(float(res.statistic), float(res.pvalue), exact, n)


@dataclass(frozen=True)
class Trend:
    """OLS slope of a noisy curve with a CI that allows for AR(1) autocorrelation."""

    slope: float
    ci: tuple
    n: int
    autocorr: float  # lag-1 autocorrelation of the residuals (bias-corrected, clipped to [0, 0.95])
    n_eff: float  # effective number of independent points


def trend(x, y, level=LEVEL):
    """Slope of ``y`` against ``x`` with an effective-sample-size CI (Santer et al. 2000).

    Neighbouring evaluations of one training run are correlated, so the OLS
    standard error is too small. The residuals' lag-1 autocorrelation r (corrected
    for its small-sample bias, r + (1 + 3r)/n) shrinks the sample to
    n_eff = n (1 - r) / (1 + r); the interval is Student-t with n_eff - 2 degrees of
    freedom. On AR(1) noise it holds its level far better than Newey-West with the
    usual bandwidths (tests/test_stats.py). CI NaN below 3 points.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 2 or np.ptp(x) == 0:
        return Trend(math.nan, NAN_CI, n, math.nan, math.nan)
    slope = float(ols_slope(x, y))
    resid = y - y.mean() - slope * (x - x.mean())
    sse = float(resid @ resid)
    if n < 3 or sse == 0:
        ci = NAN_CI if n < 3 else (slope, slope)
        return Trend(slope, ci, n, math.nan, float(n))
    r = float(resid[1:] @ resid[:-1]) / sse
    r = min(max(r + (1 + 3 * r) / n, 0.0), 0.95)
    n_eff = n * (1 - r) / (1 + r)
    df = max(n_eff - 2, 1.0)
    xc = x - x.mean()
    half = stats.t.ppf(0.5 + level / 2, df) * math.sqrt(sse / df / float(xc @ xc))
    return Trend(slope, (slope - half, slope + half), n, r, n_eff)


def ci_sign(ci):
    """+1 when the interval lies above 0, -1 below it, 0 when it holds 0 or is undefined (NaN)."""
    lo, hi = ci
    return 1 if lo > 0 else -1 if hi < 0 else 0
