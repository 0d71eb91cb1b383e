"""Vectorized SGD simulators: invariances, mixing, drift, exactness promises."""

import numpy as np
import pytest

from latedecay.toy import analysis, experiment
from latedecay.toy.models import make_model, min_norm_point
from latedecay.toy.reference import simulate_loop
from latedecay.toy.simulate import SIMULATORS, LRSchedule, Noise, Recording, simulate

KW = {"label_noise": {"sigma": 0.3}, "minibatch": {"batch": 2}, "sde": {"sigma": 0.3, "substeps": 3}}
LR = LRSchedule(0.05)


def noise(simulator, seed):
    """The tests' noise of each simulator (KW) with ``seed``."""
    return Noise(simulator, seed=seed, **KW[simulator])


def linear_problem(n=4, d=9, seed=0, aligned=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if aligned:  # samples supported on the first n coordinates
        X[:, n:] = 0.0
    y = X @ rng.standard_normal(d)
    w0 = rng.standard_normal((2, 6, d))
    return make_model("linear"), X, y, w0


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_linear_orthogonal_component_is_bitwise_fixed_when_data_is_aligned(simulator):
    model, X, y, w0 = linear_problem(aligned=True)
    w, _, _ = simulate(model, X, y, w0, LR, noise(simulator, 3), 500)
    assert np.array_equal(w[..., 4:], w0[..., 4:])  # exact, not approximate
    assert not np.allclose(w[..., :4], w0[..., :4])  # the column-space part did move


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_linear_orthogonal_component_is_fixed_to_round_off(simulator):
    model, X, y, w0 = linear_problem()
    Q = np.linalg.qr(X.T)[0]
    w, _, _ = simulate(model, X, y, w0, LR, noise(simulator, 3), 500)
    dw = w - w0
    assert np.abs(dw - (dw @ Q) @ Q.T).max() < 1e-13
    assert np.abs(dw @ Q).max() > 1e-2


@pytest.mark.parametrize("simulator", ["label_noise", "sde"])
def test_coupled_starts_forget_their_difference_at_the_contraction_rate(simulator):
    model, X, y, w0 = linear_problem()
    Q = np.linalg.qr(X.T)[0]

    def gap(w):
        return {"gap": np.linalg.norm((w[1] - w[0]) @ Q, axis=-1)}

    sub = KW[simulator].get("substeps", 1)
    _, steps, rec = simulate(model, X, y, w0, LR, noise(simulator, 1), 4000, Recording(gap, every=20))
    rate = analysis.mixing_rate(steps, rec["gap"].mean(-1), 1e-10)
    theory = analysis.linear_contraction_rate(X, 0.05, sub)
    assert rate == pytest.approx(theory, rel=0.1)
    assert rec["gap"][-1].max() < 1e-10 * rec["gap"][0].min()


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_vectorized_chains_equal_the_per_chain_loop(simulator):
    model = make_model("reparam", 2.0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 6))
    y = X @ model.beta(rng.standard_normal(6) / 3)
    w0 = rng.standard_normal((2, 3, 6)) / 2
    schedule = LRSchedule(np.array([0.01, 0.02, 0.03]))
    fast, _, _ = simulate(model, X, y, w0, schedule, noise(simulator, 7), 300)
    slow = simulate_loop(model, X, y, w0, schedule, noise(simulator, 7), 300)
    assert np.all(np.isfinite(fast)) and not np.allclose(fast, w0)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-14)


def test_per_chain_loop_follows_the_same_decay_and_end_steps():
    """The loop takes the rate step by step, the simulator only at change points: same path."""
    model, X, y, w0 = linear_problem()
    schedule = LRSchedule(
        0.05,
        decay_step=np.array([50, 80, 120, 400, 0, 10]),
        end_step=np.array([90, 400, 150] + [np.inf] * 3),
        decay_factor=0.3,
    )
    fast, _, _ = simulate(model, X, y, w0, schedule, noise("label_noise", 4), 200)
    slow = simulate_loop(model, X, y, w0, schedule, noise("label_noise", 4), 200)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-14)


def test_same_seed_is_bitwise_reproducible_and_seeds_differ():
    model, X, y, w0 = linear_problem()
    a = simulate(model, X, y, w0, LR, Noise("label_noise", sigma=0.3, seed=5), 200)[0]
    b = simulate(model, X, y, w0, LR, Noise("label_noise", sigma=0.3, seed=5), 200)[0]
    c = simulate(model, X, y, w0, LR, Noise("label_noise", sigma=0.3, seed=6), 200)[0]
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_sde_with_one_substep_is_label_noise_sgd():
    model, X, y, w0 = linear_problem()
    a = simulate(model, X, y, w0, LR, Noise("label_noise", sigma=0.3, seed=5), 200)[0]
    b = simulate(model, X, y, w0, LR, Noise("sde", sigma=0.3, substeps=1, seed=5), 200)[0]
    assert np.array_equal(a, b)


def test_noise_rejects_an_unknown_simulator_and_a_mini_batched_sde():
    with pytest.raises(ValueError, match="unknown simulator 'adam'"):
        Noise("adam")
    model, X, y, w0 = linear_problem()  # n = 4
    with pytest.raises(ValueError, match="full-batch label noise: batch must be None or n"):
        simulate(model, X, y, w0, LR, Noise("sde", sigma=0.3, batch=2), 10)
    assert np.all(np.isfinite(simulate(model, X, y, w0, LR, Noise("sde", sigma=0.3, batch=4), 10)[0]))


def test_schedule_decays_then_freezes_each_chain():
    model, X, y, w0 = linear_problem()
    w0 = w0[:1, :2]
    lr, dec, end = np.array([0.05, 0.05]), np.array([100, 300]), np.array([150, 400])
    schedule = LRSchedule(lr, decay_step=dec, end_step=end)
    recording = Recording(lambda w: {"w": w.copy()}, every=10)
    _, steps, rec = simulate(model, X, y, w0, schedule, Noise("label_noise", sigma=0.3, seed=2), 500, recording)
    w = rec["w"][:, 0]
    for k in range(2):
        after = steps >= end[k]
        assert np.array_equal(w[after, k], np.broadcast_to(w[after, k][0], w[after, k].shape))
        assert not np.array_equal(w[steps == end[k] - 10, k], w[steps == end[k], k])


def test_label_noise_sgd_drifts_to_the_min_norm_interpolator_but_plain_sgd_stops():
    base = dict(
        model="reparam",
        gamma=2.0,
        d=20,
        n=8,
        data_seed=0,
        teacher_norm=1.0,
        init_norm=1.2,
        starts=1,
        seed=1,
        chains=8,
        lr=[0.1],
        steps=8000,
        decay_steps=[6000],
        decay_factor=0.1,
        steps_after_decay=2000,
        record_every=500,
    )
    noisy = experiment.run(dict(base, simulator="label_noise", sigma=0.5, batch=None))
    plain = experiment.run(dict(base, simulator="minibatch", batch=4))
    r_mn = np.linalg.norm(noisy["w_mn"])
    ratio_start = np.linalg.norm(noisy["w0"][0]) / r_mn
    ratio_noisy = np.linalg.norm(noisy["w_final"], axis=-1).mean() / r_mn
    ratio_plain = np.linalg.norm(plain["w_final"], axis=-1).mean() / r_mn
    assert ratio_start > 1.3
    assert abs(ratio_noisy - 1.0) < 0.02
    assert ratio_plain > 1.1  # stopped on the manifold, far from the min-norm point
    assert plain["rec_train"][-1].max() < 1e-20
    mn = min_norm_point(make_model("reparam", 2.0), noisy["X"], noisy["y"])
    np.testing.assert_allclose(mn, noisy["w_mn"])


def test_diverging_chains_raise_a_clear_error():
    model, X, y, w0 = linear_problem()
    with pytest.raises(FloatingPointError, match="diverged"):
        simulate(model, X, y, w0, LRSchedule(5.0), Noise("label_noise", sigma=0.3), 2000)


def test_span_form_tracked_quantities_stay_consistent_over_a_long_run():
    """SpanChains carries X w and |w|^2 by recurrence; after 20k noisy steps they still match
    the weights it forms (round-off does not accumulate into a drift)."""
    from latedecay.toy.chains import SpanChains
    from latedecay.toy.simulate import NoiseStream

    rng = np.random.default_rng(4)
    model = make_model("reparam", 2.0)
    X = rng.standard_normal((10, 50))
    y = X @ model.beta(rng.standard_normal(50) / np.sqrt(50))
    w0 = rng.standard_normal((1, 16, 50)) * 1.2 / np.sqrt(50)
    chains = SpanChains(2.0, X, w0)
    stream = NoiseStream(0, 16, 10, y, 0.22, None)
    for i in range(20_000):
        chains.step(*stream.get(i), np.full(16, 0.01 / 10))
    w = chains.weights()
    assert np.all(np.isfinite(w)) and np.abs(w - w0).max() > 0.1  # stable, and it moved
    np.testing.assert_allclose(np.moveaxis(chains.z[:10], 0, -1), w @ X.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(chains.r2, np.einsum("skd,skd->sk", w, w), rtol=1e-12)
