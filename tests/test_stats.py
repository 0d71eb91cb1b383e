"""Generic statistics (latedecay.stats) against hand computations and on synthetic data of known truth."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from latedecay import stats
from latedecay.plots.fig1_summary import decay_effect, is_plateau

DECAYS = np.array([40, 80, 120, 160, 200, 240], dtype=float)


def ar1(rng, n, phi, scale=1.0, burn=50):
    """Stationary-ish AR(1) noise: z_t = phi z_{t-1} + e_t."""
    e = rng.normal(scale=scale, size=n + burn)
    z = np.zeros_like(e)
    for t in range(1, len(e)):
        z[t] = phi * z[t - 1] + e[t]
    return z[burn:]


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
    """decay_effect's interval (t over per-seed slopes), 200 synthetic 3-seed runs of known slope."""
    rng = np.random.default_rng(0)
    true, covered = -1e-4, 0
    for _ in range(200):
        finals = 0.2 + true * DECAYS + rng.normal(scale=0.01, size=(3, len(DECAYS)))
        _, slope, (lo, hi), _, _ = decay_effect(DECAYS, finals, better=-1)
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


@pytest.mark.parametrize("phi", [0.0, 0.6])
def test_trend_ci_covers_a_known_slope_under_ar1_noise(phi):
    rng = np.random.default_rng(1)
    x, true = np.arange(0, 201, 5.0), 2e-4
    covered = 0
    for _ in range(200):
        lo, hi = stats.trend(x, 0.2 + true * x + ar1(rng, len(x), phi, 0.01)).ci
        covered += lo <= true <= hi
    assert 0.88 <= covered / 200 <= 0.99


def test_trend_small_samples():
    assert all(math.isnan(v) for v in stats.trend([1, 2], [3, 4]).ci)
    exact = stats.trend([0, 1, 2, 3], [1, 3, 5, 7])
    assert exact.slope == pytest.approx(2) and exact.ci == pytest.approx((2, 2))
    assert math.isnan(stats.trend([5], [1]).slope)


@pytest.mark.parametrize("phi", [0.0, 0.6])
def test_flat_noisy_main_path_reads_as_a_plateau(phi):
    rng = np.random.default_rng(2)
    x = np.arange(0, 201, 5.0)
    flat = [is_plateau(stats.trend(x, 0.21 + ar1(rng, len(x), phi, 0.003)), 0.0) for _ in range(200)]
    assert np.mean(flat) >= 0.9


@pytest.mark.parametrize("phi", [0.0, 0.6])
def test_falling_main_path_is_no_plateau(phi):
    # The CPU preset's main path: -1.9e-4 per epoch over 200 epochs, noise ~0.003.
    rng = np.random.default_rng(3)
    x = np.arange(40, 241, 5.0)
    trends = [stats.trend(x, 0.25 - 1.9e-4 * x + ar1(rng, len(x), phi, 0.003)) for _ in range(200)]
    assert np.mean([is_plateau(t, 0.0) for t in trends]) <= 0.05
    # Subpaths that merely track the main path (same slope): still no plateau.
    assert np.mean([is_plateau(t, -1.9e-4) for t in trends]) <= 0.05
    # A subpath trend four times steeper than the main path's is not explained by it.
    assert all(is_plateau(t, -4 * 1.9e-4) for t in trends if t.slope > -2 * 1.9e-4)


def test_rising_main_path_is_a_plateau_for_the_claim():
    x = np.arange(0, 101, 5.0)
    assert is_plateau(stats.trend(x, 0.2 + 1e-3 * x), 0.0)
    assert is_plateau(stats.trend([0, 1], [0.2, 0.1]), 0.0) is None  # no CI: undecided


def test_ci_sign():
    assert stats.ci_sign((0.1, 0.2)) == 1 and stats.ci_sign((-0.2, -0.1)) == -1
    assert stats.ci_sign((-0.1, 0.1)) == 0 and stats.ci_sign(stats.NAN_CI) == 0


def test_a_still_rising_accuracy_is_no_plateau_for_the_accuracy():
    x = np.arange(250, 501, 5)
    rng = np.random.default_rng(3)
    rising = stats.trend(x, 0.5 + 3.6e-4 * x + rng.normal(0, 0.002, len(x)))
    assert is_plateau(rising, 3.4e-4, better=1) is False  # explains the subpaths' accuracy trend
    assert is_plateau(rising, 3.4e-4) is True  # a rising curve is no progress for a loss
    assert is_plateau(rising, 1e-2, better=1) is True  # far too slow to explain a steep trend


def test_verdict_names_main_path_accuracy_progress():
    from latedecay.plots.fig1_summary import sentence

    x = np.arange(250, 501, 5)
    flat = stats.trend(x, 0.4 + 0 * x + np.random.default_rng(1).normal(0, 0.003, len(x)))
    rising = stats.trend(x, 0.5 + 3.6e-4 * x)
    effects = [("does not help", "slope +1e-05"), ("helps", "slope +3.4e-04")]
    text = sentence(True, (250, 500), (flat, rising), effects, plateau_acc=False)
    assert text.startswith("plateau regime: later decay does not help the test loss and cannot be judged on the test accuracy")
    assert "the main path's test accuracy still rises" in text
    assert "helps the test accuracy" in sentence(True, (250, 500), (flat, rising), effects, plateau_acc=True)
