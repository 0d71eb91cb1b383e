"""Fig. 2: train-loss and test-loss landscapes on the PCA surface, with the trajectories.

Axes as in the paper: x = PC2, y = PC1. Main path: orange line; subpaths: blue dashed lines
from their branch point on the main path; red star: the last point of the longest trajectory
(the one reaching the largest epoch). numpy + matplotlib only (plot environment).
"""

import numpy as np
from matplotlib import colors, ticker
from matplotlib.figure import Figure

from latedecay.names import MAIN, decay_of

MAIN_COLOR, SUB_COLOR, STAR_COLOR = "tab:orange", "tab:blue", "red"


def trajectories(projection):
    """{label: (pc1, pc2, last epoch)}; subpaths start at the main-path snapshot they branch from."""
    coords, paths, epochs = projection["coords"], projection["paths"].astype(str), projection["epochs"]
    main = paths == MAIN
    out = {MAIN: (coords[main, 0], coords[main, 1], int(epochs[main].max()) if main.any() else -1)}
    main_at = {int(e): coords[i, :2] for i, e in zip(np.flatnonzero(main), epochs[main])}
    for label in sorted(set(paths) - {MAIN}, key=decay_of):
        rows = paths == label
        c = coords[rows, :2]
        start = main_at.get(decay_of(label))
        if start is not None:
            c = np.vstack([start, c])
        out[label] = (c[:, 0], c[:, 1], int(epochs[rows].max()))
    return out


COLOR_SCALES = ("quantile", "linear", "log")


def color_levels(values, n, scale="quantile", quantile=1.0, power=2.0):
    """(levels, norm, colour-bar ticks) of a filled-contour panel.

    The colour range runs from the minimum to the ``quantile`` of the values (higher values
    share the top colour). ``scale``:
    - "quantile": levels at the quantiles ``quantile * (i / (n - 1)) ** power`` of the values,
      so each level holds a share of the grid points and far-off high corners, however high,
      take few levels; ``power`` > 1 gives the low end (the valley) finer levels. Colours
      step evenly from level to level (the colour bar's ticks are not evenly spaced in loss);
    - "linear": n evenly spaced levels (the authors'); "log": n log-spaced levels.
    """
    finite = np.asarray(values, np.float64)
    finite = finite[np.isfinite(finite)]
    lo, hi = float(finite.min()), float(np.quantile(finite, quantile))
    if scale == "quantile":
        levels = np.unique(np.quantile(finite, quantile * np.linspace(0, 1, n) ** power))
        if len(levels) < 2:
            levels = np.array([lo, lo + 1e-12])
        picks = np.unique(np.linspace(0, len(levels) - 1, min(len(levels), 7)).round().astype(int))
        return levels, colors.BoundaryNorm(levels, 256), levels[picks]
    if scale == "log":
        lo = max(lo, hi * 1e-12, np.finfo(float).tiny)
        return np.geomspace(lo, hi, n), colors.LogNorm(lo, hi), ticker.LogLocator()
    if scale == "linear":
        return np.linspace(lo, hi if hi > lo else lo + 1e-12, n), None, ticker.MaxNLocator(6)
    raise ValueError(f"landscape.color_scale = {scale!r}; choose one of {COLOR_SCALES}")


SCALE_NOTES = {"quantile": ", quantile levels", "log": ", log scale", "linear": ""}


def _panel(fig, ax, grid, key, title, paths, color):
    values = grid[key]
    lv, norm, ticks = color_levels(values, **color)
    filled = ax.contourf(grid["x2"], grid["x1"], np.clip(values, lv[0], lv[-1]), levels=lv, norm=norm,
                         cmap="viridis")  # fmt: skip
    filled.set_edgecolor("face")  # no hairline seams between levels in PDF viewers
    fig.colorbar(filled, ax=ax, ticks=ticks, format="%.3g", label=f"{title}{SCALE_NOTES[color['scale']]}")
    subs = [p for label, p in paths.items() if label != MAIN]
    for i, (c1, c2, _) in enumerate(subs):
        # The end dot keeps short subpaths (a few epochs at a small LR) visible.
        ax.plot(c2, c1, color=SUB_COLOR, ls="--", lw=1.1, marker="o", markevery=[-1], ms=3, zorder=3,
                label="_" if i else "subpaths")  # fmt: skip
    c1, c2, _ = paths[MAIN]
    ax.plot(c2, c1, color=MAIN_COLOR, lw=1.4, zorder=2, label="main path")
    longest = max(paths.values(), key=lambda p: p[2])
    ax.plot(longest[1][-1], longest[0][-1], marker="*", color=STAR_COLOR, ms=11, ls="none",
            markeredgecolor="white", markeredgewidth=0.5, zorder=4, label=f"end of longest run (epoch {longest[2]})")  # fmt: skip
    ax.set_title(title)
    ratio = grid["ratio"]
    ax.set_xlabel(f"PC2 ({100 * ratio[1]:.1f} % of variance)")
    ax.set_ylabel(f"PC1 ({100 * ratio[0]:.1f} % of variance)")
    ax.set_xlim(grid["x2"][0], grid["x2"][-1])
    ax.set_ylim(grid["x1"][0], grid["x1"][-1])


def make_figure(grid, projection, color_scale="quantile", levels=30, loss="mse", color_quantile=1.0, quantile_power=2.0):
    """Two panels (train loss, test loss) from grid.npz and projection.npz contents; each
    colour scale (``color_levels``) runs from the panel's minimum to its ``color_quantile``
    quantile."""
    color = dict(n=levels, scale=color_scale, quantile=color_quantile, power=quantile_power)
    paths = trajectories(projection)
    fig = Figure(figsize=(8.0, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    surface = str(grid["surface"])
    for ax, key, name in zip(axes, ("train_loss", "test_loss"), ("train loss", "test loss")):
        _panel(fig, ax, grid, key, f"{name} ({loss})", paths, color)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
    cap = "" if color_quantile >= 1 else f"; colours capped at the {color_quantile:g} quantile"
    fig.suptitle(f"Loss landscape on the {surface} PCA surface "
                 f"({int(grid['n_train'])} train / {int(grid['n_test'])} test images{cap})")  # fmt: skip
    return fig
