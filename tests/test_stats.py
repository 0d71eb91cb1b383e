"""Generic statistics (latedecay.stats) against hand computations and on synthetic data of known truth."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from latedecay import stats
from latedecay.verdict import raw_trend

DECAYS = np.array([40, 80, 120, 160, 200, 240], dtype=float)


def test_ols_slope_matches_polyfit_and_vectorizes():
    rng = np.random.default_rng(0)
    x, y = np.arange(7.0), rng.normal(size=(3, 7))
    assert stats.ols_slope(x, y, axis=1) == pytest.approx([np.polyfit(x, row, 1)[0] for row in y])
    assert stats.ols_slope(x, y.T, axis=0) == pytest.approx(stats.ols_slope(x, y))


def test_mean_ci_is_the_student_t_interval():
    # [1, 2, 3]: mean 2, sd 1, se 1/sqrt(3), t(0.975, 2 df) = 4.3026527297.
    mean, (lo, hi) = stats.mean_ci([1.0, 2.0, 3.0])
    half = 4.3026527297 / math.sqrt(3)
    assert (mean, lo, hi) == pytest.approx((2.0, 2.0 - half, 2.0 + half), rel=1e-9)
    assert stats.mean_ci([5.0])[0] == 5.0 and all(math.isnan(v) for v in stats.mean_ci([5.0])[1])
    assert stats.mean_ci([0.25, 0.25]) == (0.25, (0.25, 0.25))  # no spread, no warning
    assert math.isnan(stats.mean_ci([])[0])


def test_exact_spearman_p_of_six_monotone_points_is_2_over_720():
    res = stats.spearman_test(DECAYS, -DECAYS)
    assert res.rho == pytest.approx(-1.0) and res.exact and res.n == 6
    assert res.p == pytest.approx(2 / 720, rel=1e-12)  # only the identity and its reverse are as extreme
    assert sps.spearmanr(DECAYS, -DECAYS).pvalue < 1e-10  # the asymptotic p that Fig. 1 used to print


def brute_force_p(x, y):
    """Two-sided exact p by enumerating all pairings (scipy's convention: 2 x the smaller tail)."""
    rho = sps.spearmanr(x, y).statistic
    null = [sps.spearmanr(x, perm).statistic for perm in itertools.permutations(y)]
    tol = 1e-12
    less = np.mean([r <= rho + tol for r in null])
    greater = np.mean([r >= rho - tol for r in null])
    return rho, min(1.0, 2 * min(less, greater))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_spearman_p_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    x, y = np.arange(6.0), rng.normal(size=6)
    rho, p = brute_force_p(x, y)
    res = stats.spearman_test(x, y)
    assert (res.rho, res.p) == pytest.approx((rho, p), rel=1e-9)


def test_spearman_ties_closed_form_and_limits():
    # Ranks 3, 4, 2, 1 against 1..4: rho = 1 - 6 * 18 / (4 * 15) = -0.8.
    res = stats.spearman_test([0, 20, 40, 60], [0.19, 0.20, 0.18, 0.17])
    assert res.rho == pytest.approx(-0.8)
    assert res.p == pytest.approx(brute_force_p([0, 20, 40, 60], [0.19, 0.20, 0.18, 0.17])[1])
    assert math.isnan(stats.spearman_test([1, 2], [2, 1]).p) and "3 points" in stats.spearman_test([1], [1]).why
    assert "constant" in stats.spearman_test([1, 2, 3], [5, 5, 5]).why


def test_spearman_beyond_eight_points_draws_pairings_and_is_never_zero():
    x = np.arange(11.0)
    res = stats.spearman_test(x, -x, n_resamples=2000)
    assert not res.exact and res.rho == pytest.approx(-1.0)
    assert res.p == pytest.approx(2 / 2001)  # the observed pairing counts once among the draws


def test_slope_ci_over_seeds_covers_the_true_slope():
    """raw_trend's interval (t over per-seed slopes), 200 synthetic 3-seed runs of known slope."""
    rng = np.random.default_rng(0)
    true, covered = -1e-4, 0
    for _ in range(200):
        finals = 0.2 + true * DECAYS + rng.normal(scale=0.01, size=(3, len(DECAYS)))
        _, slope, (lo, hi) = raw_trend(DECAYS, finals)
        covered += lo <= true <= hi
        assert slope == pytest.approx(stats.ols_slope(DECAYS, finals.mean(0)))
    assert 0.88 <= covered / 200 <= 0.99


def test_a_bootstrap_over_three_seeds_would_undercover():
    """Why mean_ci is a t interval: scipy's BCa bootstrap over 3 seeds covers far below 95%."""
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        sample = rng.normal(size=3)
        ci = sps.bootstrap((sample,), np.mean, n_resamples=999, rng=rng).confidence_interval
        covered += ci.low <= 0 <= ci.high
    assert covered / 200 < 0.85


def test_ci_sign():
    assert stats.ci_sign((0.1, 0.2)) == 1 and stats.ci_sign((-0.2, -0.1)) == -1
    assert stats.ci_sign((-0.1, 0.1)) == 0 and stats.ci_sign(stats.NAN_CI) == 0


def test_t_power_closed_forms_and_mde_by_simulation():
    """t_power at effect 0 is the level; the mde is detected in 80 % of simulated t tests
    (measured 0.801 / 0.797 / 0.800 for n = 3 / 5 / 10 over 20,000 draws each)."""
    assert stats.t_power(0.0, 1.0, 3) == pytest.approx(0.05, rel=1e-9)
    assert stats.t_power(stats.t_mde(2.0, 4), 2.0, 4) == pytest.approx(0.8, abs=1e-9)
    assert stats.t_mde(3.0, 5) == pytest.approx(3 * stats.t_mde(1.0, 5))  # scales with the spread
    assert math.isnan(stats.t_mde(1.0, 1)) and stats.t_mde(0.0, 3) == 0.0
    rng = np.random.default_rng(0)
    for n in (3, 5, 10):
        d = stats.t_mde(1.0, n)
        p = sps.ttest_1samp(rng.normal(d, 1.0, (20_000, n)), 0, axis=1).pvalue
        assert np.mean(p < 0.05) == pytest.approx(0.8, abs=0.015)


def test_tost_p_and_end_change_closed_forms():
    v = np.array([0.001, -0.002, 0.0005])
    p = max(
        sps.ttest_1samp(v, -0.01, alternative="greater").pvalue, sps.ttest_1samp(v, 0.01, alternative="less").pvalue
    )
    assert stats.tost_p(v, 0.01) == pytest.approx(p, rel=1e-12)
    assert stats.tost_p([0.002, 0.002], 0.01) == 0.0 and stats.tost_p([0.02, 0.02], 0.01) == 1.0
    assert math.isnan(stats.tost_p([0.0], 0.01))
    x = np.arange(0, 101, 10.0)  # blocks: epochs 0-20 and 80-100
    assert stats.end_change(x, x**2) == pytest.approx((6400 + 8100 + 10000) / 3 - (0 + 100 + 400) / 3)
    assert stats.end_change(x, np.vstack([x, 2 * x])) == pytest.approx([80, 160])
    assert all(math.isnan(v) for v in stats.end_change_ci(x, x)[1])  # 3 points per block: no CI
