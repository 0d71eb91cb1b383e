"""Generic statistics of the figures: means with CIs, equivalence and power of the t test, exact
rank tests, the change of a noisy curve between its ends.

Conventions: a confidence interval is a ``(low, high)`` pair of floats, NaN
where it is undefined (too few values); callers turn NaN into ``null``.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

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
    if v.size == 0 or not np.isfinite(v).all():
        return math.nan, NAN_CI
    if v.size < 2:
        return float(v.mean()), NAN_CI
    mean = float(v.mean())
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return mean, (mean - half, mean + half)


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

    res = stats.permutation_test((ry,), rho, permutation_type="pairings", n_resamples=n_resamples, rng=seed)
    exact = math.factorial(n) <= n_resamples
    return RankTest(float(res.statistic), float(res.pvalue), exact, n)


def ci_sign(ci):
    """+1 when the interval lies above 0, -1 below it, 0 when it holds 0 or is undefined (NaN)."""
    lo, hi = ci
    return 1 if lo > 0 else -1 if hi < 0 else 0


def tost_p(values, margin):
    """p of two one-sided t tests that the mean lies within (-margin, +margin) (equivalence).

    p < alpha iff the (1 - 2 alpha) t interval lies inside the margins. NaN below 2 values.
    """
    v = np.asarray(values, dtype=float)
    if v.size < 2 or not np.isfinite(v).all():
        return math.nan
    if np.ptp(v) == 0:  # no spread: the mean is known exactly
        return 0.0 if abs(v[0]) < margin else 1.0
    low = stats.ttest_1samp(v, -margin, alternative="greater").pvalue
    high = stats.ttest_1samp(v, margin, alternative="less").pvalue
    return float(max(low, high))


def t_power(effect, sd, n, alpha=0.05):
    """Power of the two-sided one-sample t test at level ``alpha`` for a true mean ``effect``
    (noncentral t with n - 1 degrees of freedom)."""
    df, nc = n - 1, effect * math.sqrt(n) / sd
    crit = stats.t.ppf(1 - alpha / 2, df)
    # scipy's far tail of the noncentral t can read NaN where it is ~0.
    return float(np.nan_to_num(stats.nct.sf(crit, df, nc)) + np.nan_to_num(stats.nct.cdf(-crit, df, nc)))


def t_mde(sd, n, power=0.8, alpha=0.05):
    """Smallest |mean| the two-sided one-sample t test detects with ``power`` at level ``alpha``,
    for values of standard deviation ``sd``: NaN below 2 values, 0 without spread."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 0.0
    high = 1.0
    while t_power(high, 1.0, n, alpha) < power:
        high *= 2
    return optimize.brentq(lambda d: t_power(d, 1.0, n, alpha) - power, 0.0, high) * sd  # scales with sd


def end_blocks(x, fraction=0.2):
    """Masks of the points of ``x`` in the first and the last ``fraction`` of its range."""
    x = np.asarray(x, dtype=float)
    lo, hi = x.min(), x.max()
    width = fraction * (hi - lo)
    return x <= lo + width, x >= hi - width


def end_change(x, y, fraction=0.2):
    """Mean of ``y`` over the last ``fraction`` of the range of ``x`` minus its mean over the
    first: how far a curve moved, whatever its shape. Vectorized over leading axes of ``y``."""
    first, last = end_blocks(x, fraction)
    y = np.asarray(y, dtype=float)
    return y[..., last].mean(-1) - y[..., first].mean(-1)


def _block_mean_variance(x, y):
    """(variance of the block mean under white noise, lag-1 sum and sum of squares of the
    residuals) of one block after removing its own straight line."""
    xc = x - x.mean()
    resid = y - y.mean() - (xc @ (y - y.mean())) / (xc @ xc) * xc
    return float(resid @ resid) / (len(y) - 2) / len(y), float(resid[1:] @ resid[:-1]), float(resid @ resid)


def end_change_ci(x, y, fraction=0.2, level=LEVEL):
    """``end_change`` of one noisy curve with a CI that allows for AR(1) noise: NaN CI when a
    block has fewer than 4 points.

    Within each block the curve is taken as straight (its own OLS line), so curvature over
    the window does not pass for noise; the pooled lag-1 autocorrelation r of the block
    residuals inflates each block mean's variance by (1 + r)/(1 - r) and shrinks the
    degrees of freedom alike. r is bias-corrected by (3 + 6r)/n (n points per block; a
    short detrended block underestimates r more than the mean-only (1 + 3r)/n) and clipped
    to [0, 0.95]. Measured coverage of the 95% interval on decelerating curves (600 draws;
    9-11 points per block): 0.98 for white noise, 0.93-0.97 for AR(1) phi 0.3, 0.88-0.91
    for phi 0.6, 0.77-0.82 for phi 0.8; with 13 points per block, 300 draws
    (tests/test_fig1_verdict.py): 0.96, 0.93, 0.85 for phi 0, 0.3, 0.6. It under-covers
    when neighbouring evaluations correlate strongly; several seeds need none of this.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    masks = end_blocks(x, fraction)
    change = float(end_change(x, y, fraction))
    sizes = [int(m.sum()) for m in masks]
    if min(sizes) < 4:
        return change, NAN_CI
    variances, lagged, squares = zip(*(_block_mean_variance(x[m], y[m]) for m in masks))
    n = sum(sizes) / 2
    r = sum(lagged) / sum(squares) if sum(squares) else 0.0
    r = min(max(r + (3 + 6 * r) / n, 0.0), 0.95)
    inflate = (1 + r) / (1 - r)
    se = math.sqrt(inflate * sum(variances))
    df = max((sum(sizes) - 4) / inflate, 1.0)
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return change, (change - half, change + half)
