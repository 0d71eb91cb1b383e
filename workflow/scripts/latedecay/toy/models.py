"""The three toy models of Fig. 3, each linear in x through a predictor beta(w).

    linear          f(x; w) = w^T x                beta(w) = w
    diagonal        f(x; w) = (w^3)^T x            beta(w) = w^3 (elementwise)
    reparam         f(x; w) = |w|^gamma w^T x      beta(w) = |w|^gamma w

Every function takes ``w`` with any leading batch dimensions (..., d), so one
call serves all SGD chains at once. ``X`` is (n, d), one sample per row.
With labels from a teacher, y = X beta(w*), and x ~ N(0, I), the testing loss
is 1/2 |beta(w) - beta(w*)|^2 in closed form.
"""

import numpy as np

MODEL_NAMES = ("linear", "diagonal", "reparam")


class Linear:
    """Each model offers beta, beta_inv and vjp (J_beta(w)^T v); the SGD
    simulators step all chains at once in latedecay.toy.chains."""

    name = "linear"

    def beta(self, w):
        return w

    def beta_inv(self, b):
        return np.array(b, dtype=float)

    def vjp(self, w, v):
        return v


class Diagonal:
    name = "diagonal"

    def beta(self, w):
        return w * w * w

    def beta_inv(self, b):
        return np.cbrt(b)

    def vjp(self, w, v):
        return 3.0 * w * w * v


class Reparam:
    name = "reparam"

    def __init__(self, gamma):
        if gamma <= 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        self.gamma = float(gamma)

    def _radius_power(self, w):
        r2 = np.vecdot(w, w)[..., None]
        return r2, (r2 if self.gamma == 2.0 else r2 ** (self.gamma / 2))

    def beta(self, w):
        return self._radius_power(w)[1] * w

    def beta_inv(self, b):
        # |beta| = |w|^(gamma+1), so the radius follows from |beta| alone.
        b = np.asarray(b, dtype=float)
        nb = np.linalg.norm(b, axis=-1, keepdims=True)
        r = nb ** (1.0 / (self.gamma + 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(nb > 0, b / np.where(nb > 0, r**self.gamma, 1.0), 0.0)

    def vjp(self, w, v):
        # J = r^g I + g r^(g-2) w w^T is symmetric: J^T v = r^g (v + g (w.v)/r^2 w).
        r2, rg = self._radius_power(w)
        return rg * (v + (self.gamma * np.vecdot(w, v)[..., None] / r2) * w)


def make_model(name, gamma=2.0):
    if name == "linear":
        return Linear()
    if name == "diagonal":
        return Diagonal()
    if name == "reparam":
        return Reparam(gamma)
    raise ValueError(f"unknown toy model {name!r}; expected one of {MODEL_NAMES}")


def train_loss(model, w, X, y):
    """(1/2n) sum_i (f(x_i; w) - y_i)^2, batched over the leading dims of w."""
    r = model.beta(w) @ X.T - y
    return 0.5 * np.mean(r * r, axis=-1)


def test_loss(model, w, w_star):
    """Closed-form Gaussian testing loss 1/2 |beta(w) - beta(w*)|^2."""
    diff = model.beta(w) - model.beta(np.asarray(w_star, dtype=float))
    return 0.5 * np.einsum("...i,...i->...", diff, diff)


def min_norm_predictor(X, y):
    """X^+ y: the minimum-norm linear interpolator."""
    return np.linalg.pinv(X) @ y


def min_norm_point(model, X, y):
    """The minimum-norm point of the training minima manifold {w : X beta(w) = y}.

    For linear and reparam models |beta(w)| is increasing in |w|, so the
    point is beta^{-1}(X^+ y). For the diagonal model it is not: with n = 1
    the minimiser of |w| subject to sum_i x_i w_i^3 = y puts all weight on the
    coordinate of largest |x_i| (Lagrange: w_i in {0, c / x_i}; the norm grows
    with the support), which is solved in closed form here.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    if model.name != "diagonal":
        return model.beta_inv(min_norm_predictor(X, y))
    if X.shape[0] != 1:
        raise ValueError("diagonal model: the minimum-norm manifold point is closed-form only for n = 1")
    x = X[0]
    j = int(np.argmax(np.abs(x)))
    w = np.zeros_like(x)
    w[j] = np.cbrt(y[0] / x[j])
    return w


def flattest_radius(model, X, y):
    """Radius |w| of the flattest points of the reparam manifold.

    On the manifold tr(Hessian) = (1/n)[r^(2g) sum|x_i|^2 + (g^2 + 2g)|y|^2 r^-2],
    minimal at r^(2g+2) = (g + 2)|y|^2 / sum|x_i|^2. The minimum-norm point is
    the flattest point of the manifold only if this radius is below its norm.
    """
    if model.name != "reparam":
        raise ValueError("flattest_radius is derived for the reparam model only")
    g = model.gamma
    X, y = np.atleast_2d(X), np.atleast_1d(y)
    return ((g + 2.0) * float(y @ y) / float(np.sum(X * X))) ** (1.0 / (2.0 * g + 2.0))
