"""Toy models: analytic gradients against autograd, closed forms against brute force."""

import numpy as np
import pytest
import torch

from latedecay.toy.models import (
    MODEL_NAMES,
    flattest_radius,
    make_model,
    min_norm_point,
    min_norm_predictor,
    test_loss as toy_test_loss,
    train_loss,
)

GAMMA = 2.0


def train_grad(model, w, X, y):
    """Gradient of train_loss from the model's vjp (what the chains step along)."""
    r = model.beta(w) @ X.T - y
    return model.vjp(w, r @ X) / X.shape[0]


def toy_test_grad(model, w, w_star):
    """Gradient of the closed-form test_loss from the model's vjp."""
    return model.vjp(w, model.beta(w) - model.beta(np.asarray(w_star, dtype=float)))


def torch_beta(name, w, gamma=GAMMA):
    """Independent torch reference of each model's predictor beta(w)."""
    if name == "linear":
        return w
    if name == "diagonal":
        return w**3
    return torch.linalg.vector_norm(w, dim=-1, keepdim=True) ** gamma * w


def problem(seed=0, n=4, d=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(d), rng.standard_normal((3, 5, d))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_train_and_test_gradients_match_autograd(name):
    X, w_star, w = problem()
    model = make_model(name, GAMMA)
    y = X @ model.beta(w_star)
    wt = torch.tensor(w, requires_grad=True)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    bt = torch_beta(name, wt)
    train = 0.5 * (((bt @ Xt.T) - yt) ** 2).mean(-1)
    test = 0.5 * ((bt - torch_beta(name, torch.tensor(w_star))) ** 2).sum(-1)
    np.testing.assert_allclose(train_loss(model, w, X, y), train.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(toy_test_loss(model, w, w_star), test.detach().numpy(), rtol=1e-12)
    (g_train,) = torch.autograd.grad(train.sum(), wt, retain_graph=True)
    (g_test,) = torch.autograd.grad(test.sum(), wt)
    np.testing.assert_allclose(train_grad(model, w, X, y), g_train.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(toy_test_grad(model, w, w_star), g_test.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 3.0])
def test_reparam_gradient_for_other_gammas(gamma):
    X, w_star, w = problem(seed=3)
    model = make_model("reparam", gamma)
    y = X @ model.beta(w_star)
    wt = torch.tensor(w, requires_grad=True)
    loss = 0.5 * (((torch_beta("reparam", wt, gamma) @ torch.tensor(X).T) - torch.tensor(y)) ** 2).mean(-1)
    (g,) = torch.autograd.grad(loss.sum(), wt)
    np.testing.assert_allclose(train_grad(model, w, X, y), g.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["linear", "reparam"])
def test_min_norm_point_closed_form(name):
    X, w_star, _ = problem(seed=1, n=4, d=9)
    model = make_model(name, GAMMA)
    y = X @ model.beta(w_star)
    w_mn = min_norm_point(model, X, y)
    # beta(w_mn) is the minimum-norm linear interpolator X^+ y, hence on the manifold.
    np.testing.assert_allclose(model.beta(w_mn), np.linalg.pinv(X) @ y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(X @ model.beta(w_mn), y, rtol=1e-10)
    # Random manifold points: beta = X^+ y + (null-space part); none is shorter.
    rng = np.random.default_rng(2)
    P = np.linalg.pinv(X) @ X
    betas = min_norm_predictor(X, y) + (rng.standard_normal((500, 9)) * rng.uniform(0.01, 3, (500, 1))) @ (
        np.eye(9) - P
    )
    ws = model.beta_inv(betas)
    np.testing.assert_allclose(model.beta(ws) @ X.T, np.broadcast_to(y, (500, 4)), rtol=1e-9, atol=1e-12)
    assert np.all(np.linalg.norm(ws, axis=1) >= np.linalg.norm(w_mn) - 1e-12)
    assert np.linalg.norm(ws, axis=1).min() < 1.05 * np.linalg.norm(w_mn)  # the search came close


def test_diagonal_min_norm_point_beats_random_manifold_points():
    model = make_model("diagonal")
    X = np.array([[0.15, -0.7, 0.4]])
    y = X @ model.beta(np.array([-1.0, 0.5, 0.3]))
    w_mn = min_norm_point(model, X, y)
    np.testing.assert_allclose(X @ model.beta(w_mn), y, rtol=1e-12)
    rng = np.random.default_rng(0)
    # Manifold points: pick w_2, w_3 freely, solve the cubic for w_1.
    free = rng.uniform(-2, 2, (20000, 2))
    w1 = np.cbrt((y[0] - free**3 @ X[0, 1:]) / X[0, 0])
    ws = np.column_stack([w1, free])
    np.testing.assert_allclose(ws**3 @ X[0], y[0], rtol=1e-8, atol=1e-10)
    assert np.linalg.norm(ws, axis=1).min() >= np.linalg.norm(w_mn) - 1e-12
    # beta^-1(X^+ y) is on the manifold but longer: the diagonal min-norm point is sparse.
    alt = model.beta_inv(np.linalg.pinv(X) @ y)
    assert np.linalg.norm(alt) > np.linalg.norm(w_mn) + 1e-3
    assert np.count_nonzero(w_mn) == 1


def test_flattest_radius_minimises_hessian_trace_on_the_manifold():
    X, w_star, _ = problem(seed=4, n=1, d=3)
    model = make_model("reparam", GAMMA)
    y = X @ model.beta(w_star)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def loss(w):
        return 0.5 * (((torch_beta("reparam", w) @ Xt.T) - yt) ** 2).mean()

    rng = np.random.default_rng(5)
    betas = min_norm_predictor(X, y) + rng.standard_normal((300, 3)) * rng.uniform(0, 2, (300, 1)) @ (
        np.eye(3) - np.linalg.pinv(X) @ X
    )
    ws = model.beta_inv(betas)
    traces = np.array([torch.autograd.functional.hessian(loss, torch.tensor(w)).trace().item() for w in ws])
    radii = np.linalg.norm(ws, axis=1)
    r_star = flattest_radius(model, X, y)
    # tr H depends on |w| alone on the manifold; the flattest sampled point sits at r_star.
    assert abs(radii[np.argmin(traces)] - r_star) < 0.05 * r_star
    assert r_star > np.linalg.norm(min_norm_point(model, X, y))  # n = 1: not the min-norm point


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_chain_steps_are_gradient_steps(name):
    from latedecay.toy.chains import make_chains

    X, w_star, w = problem(seed=6)
    model = make_model(name, GAMMA)
    y = X @ model.beta(w_star)
    eta = np.linspace(0.01, 0.05, w.shape[1])
    chains = make_chains(model, X, w)
    expected = w.copy()
    for _ in range(3):  # several steps: the span form's tracked X w and |w|^2 must stay right
        chains.step(y[:, None, None], None, eta / X.shape[0])
        expected -= eta[:, None] * train_grad(model, expected, X, y)
    np.testing.assert_allclose(chains.weights(), expected, rtol=1e-12, atol=1e-13)
