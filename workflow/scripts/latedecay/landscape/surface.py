"""Grid axes and the surface through parameter space on which the loss is evaluated.

flat:   theta(x1, x2) = mean + x1 PC1 + x2 PC2
curved: theta(x1, x2) = mean + x1 PC1 + x2 PC2 + (a x1^2 + b x1 + c) PC3, where
        (a, b, c) fits the snapshots' PC3 coordinate as a quadratic in their PC1 one.
"""

import numpy as np

SURFACES = ("flat", "curved")


def axis_range(values, margin):
    """[lo, hi] covering ``values`` with ``margin`` x their span added on each side."""
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = margin * max(hi - lo, 1e-12)
    return lo - pad, hi + pad


def grid_axes(grid, coords):
    """(x1, x2) axes along PC1 and PC2 from the landscape.grid config.

    extent fixed: the configured ranges; auto: the projected snapshots plus a margin, and
    with ``square`` both axes as long as the longer one (one length scale, as in the
    paper's figure), each centred on its trajectories.
    """
    if grid["extent"] == "auto":
        ranges = [axis_range(coords[:, j], grid["margin"]) for j in (0, 1)]
        if grid["square"]:
            half = max(hi - lo for lo, hi in ranges) / 2
            ranges = [((lo + hi) / 2 - half, (lo + hi) / 2 + half) for lo, hi in ranges]
    else:
        ranges = [(grid[key]["min"], grid[key]["max"]) for key in ("pc1", "pc2")]
    return [np.linspace(lo, hi, grid[key]["points"]) for (lo, hi), key in zip(ranges, ("pc1", "pc2"))]


def surface_coefficients(c1, c2, surface, fit):
    """[P, m] coordinates on PC1..PCm of the surface points theta(c1, c2) for pairs
    (c1[p], c2[p]); m = 2 for flat, 3 for curved (PC3 = a c1^2 + b c1 + c)."""
    c1, c2 = np.asarray(c1, np.float64).ravel(), np.asarray(c2, np.float64).ravel()
    if surface == "flat":
        return np.stack([c1, c2], axis=1)
    if surface == "curved":
        a, b, c = fit
        return np.stack([c1, c2, a * c1**2 + b * c1 + c], axis=1)
    raise ValueError(f"landscape.surface = {surface!r}; choose one of {SURFACES}")


def coefficients(x1, x2, surface, fit):
    """[P, m] coordinates on PC1..PCm of every grid point, P = len(x1) * len(x2) in
    row-major order (x1 outer, x2 inner); m = 2 for flat, 3 for curved."""
    g1, g2 = np.meshgrid(np.asarray(x1, np.float64), np.asarray(x2, np.float64), indexing="ij")
    return surface_coefficients(g1, g2, surface, fit)


def quadratic_fit_r2(c1, c3, fit):
    """Coefficient of determination of the fit c3 ~ a c1^2 + b c1 + c (nan without a fit or
    when c3 does not vary): how well the curved surface follows the snapshots along PC3."""
    c1, c3 = np.asarray(c1, np.float64), np.asarray(c3, np.float64)
    if not np.all(np.isfinite(fit)):
        return float("nan")
    total = float(np.sum((c3 - c3.mean()) ** 2))
    if total == 0:
        return float("nan")
    return 1.0 - float(np.sum((c3 - np.polyval(fit, c1)) ** 2)) / total
