"""The state of all SGD chains, advanced by one update in a few array ops.

Arrays are laid out (rows, S, K): S coupled starts times K chains on the trailing,
contiguous axes, so per-chain numbers broadcast along rows in fast contiguous loops.
``step(target, mask, c)`` applies, to every chain at once,

    w <- w - c J_beta(w)^T X^T r,   r = mask * (X beta(w) - target),   c = eta / n per chain.

SpanChains (linear and reparam models). The update moves w along w itself and X^T r,
so w stays in the span of its start and the rows of X: w = a w0 - X^T b, with a number a
and a vector b in R^n per chain. With rho = |w|^gamma and G = X X^T the step is

    s      = 1 - c rho gamma (Xw . r) / |w|^2
    Xw    <- s Xw - c rho G r
    |w|^2 <- s^2 |w|^2 - 2 s c rho (Xw . r) + (c rho)^2 r.G r
    a <- s a,   b <- s b + c rho r

which costs O(n) per chain instead of O(d n); w itself is formed only when asked for.
This is the same update, rearranged: it agrees with the d-dimensional step to
round-off. The linear model is gamma = 0 (rho = 1, s = 1).

DenseChains (diagonal model, whose update leaves that span): w <- w - 3 c w^2 X^T r.

A chain with c = 0 stays bitwise unchanged in both.
"""

import numpy as np


def _flat(a):
    return a.reshape(a.shape[0], -1)


class SpanChains:
    def __init__(self, gamma, X, w0):
        self.gamma, self.X, self.n = float(gamma), X, X.shape[0]
        self.w0 = np.ascontiguousarray(np.moveaxis(w0, -1, 0))  # (d, S, K)
        xw = (X @ _flat(self.w0)).reshape(self.n, *self.w0.shape[1:])
        # One array for X w (n rows), b (n rows) and a (1 row): s scales all in one op.
        self.z = np.concatenate([xw, np.zeros_like(xw), np.ones_like(xw[:1])])
        self.r2 = np.einsum("dsk,dsk->sk", self.w0, self.w0)
        G = X @ X.T
        self.H = np.concatenate([-G, np.eye(self.n), np.zeros((1, self.n))])  # z += c rho H r

    def weights(self):
        n = self.n
        w = self.z[-1] * self.w0 - (self.X.T @ _flat(self.z[n : 2 * n])).reshape(self.w0.shape)
        return np.moveaxis(w, 0, -1)

    def step(self, target, mask, c):
        n, g, z = self.n, self.gamma, self.z
        rho = 1.0 if g == 0.0 else self.r2 if g == 2.0 else self.r2 ** (g / 2)
        crho = c * rho
        r = z[:n] * rho
        r -= target
        if mask is not None:
            r *= mask
        hr = (self.H @ _flat(r)).reshape(z.shape)
        if g != 0.0:  # the radius moves: rescale all of z and carry |w|^2
            xr = np.einsum("nsk,nsk->sk", z[:n], r)
            rgr = np.einsum("nsk,nsk->sk", r, hr[:n])  # = -r.G r
            s = 1.0 - crho * g * xr / self.r2
            self.r2 = s * (s * self.r2 - 2.0 * crho * xr) - crho * crho * rgr
            z *= s
        hr *= crho
        z += hr


class DenseChains:
    def __init__(self, X, w0):
        self.X, self.XT = X, np.ascontiguousarray(X.T)
        self.w = np.ascontiguousarray(np.moveaxis(w0, -1, 0))  # (d, S, K)

    def weights(self):
        return np.moveaxis(self.w, 0, -1).copy()

    def step(self, target, mask, c):
        w = self.w
        w2 = w * w
        r = (self.X @ _flat(w2 * w)).reshape(len(self.X), *w.shape[1:])
        r -= target
        if mask is not None:
            r *= mask
        grad = (self.XT @ _flat(r)).reshape(w.shape)
        grad *= w2
        grad *= 3.0 * c
        w -= grad


def make_chains(model, X, w0):
    """Chain state for ``model`` from starts w0 (S, K, d)."""
    if model.name == "diagonal":
        return DenseChains(X, w0)
    return SpanChains(model.gamma if model.name == "reparam" else 0.0, X, w0)
