"""Fig. 2: train-loss and test-loss landscapes on the PCA surface, with the trajectories,
and how far the trajectories sit from that surface.

Top row, axes as in the paper: x = PC2, y = PC1. Main path: orange line; subpaths: blue
dashed lines through their snapshots in order, from their branch point on the main path;
red star: the last point of the longest trajectory (the one reaching the largest epoch).
Bottom row (seaborn, from paths.csv): train and test loss along every path, at the
snapshots themselves (true) and at the surface points drawn under them, and each
snapshot's distance from the surface. numpy, pandas, matplotlib and seaborn only (plot
environment).
"""

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import colors, patheffects, ticker
from matplotlib.figure import Figure

from latedecay.landscape.merge import loss_gaps
from latedecay.landscape.surface import quadratic_fit_r2
from latedecay.names import MAIN, decay_of
from latedecay.plots import style

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
    filled = ax.contourf(grid["x2"], grid["x1"], np.clip(values, lv[0], lv[-1]), levels=lv, norm=norm, cmap="viridis")
    filled.set_edgecolor("face")  # no hairline seams between levels in PDF viewers
    fig.colorbar(filled, ax=ax, ticks=ticks, format="%.3g", label=f"{title}{SCALE_NOTES[color['scale']]}")
    c1, c2, _ = paths[MAIN]
    ax.plot(c2, c1, color=MAIN_COLOR, lw=1.4, zorder=2, label="main path")
    subs = [p for label, p in paths.items() if label != MAIN]
    for i, (c1, c2, _) in enumerate(subs):
        # Short dashes, above the main path: a subpath that moves little at the small LR
        # still reads as a dashed path leaving its branch point.
        # A white casing keeps them apart from the main path they leave.
        ax.plot(
            c2,
            c1,
            color=SUB_COLOR,
            ls=(0, (2.5, 1.2)),
            lw=1.3,
            zorder=3,
            label="_" if i else "subpaths",
            path_effects=[patheffects.Stroke(linewidth=2.6, foreground="white"), patheffects.Normal()],
        )
    longest = max(paths.values(), key=lambda p: p[2])
    ax.plot(
        longest[1][-1],
        longest[0][-1],
        marker="*",
        color=STAR_COLOR,
        ms=11,
        ls="none",
        markeredgecolor="white",
        markeredgewidth=0.5,
        zorder=4,
        label=f"end of longest run (epoch {longest[2]})",
    )
    ax.set_title(title)
    ratio = grid["ratio"]
    ax.set_xlabel(f"PC2 ({100 * ratio[1]:.1f} % of variance)")
    ax.set_ylabel(f"PC1 ({100 * ratio[0]:.1f} % of variance)")
    ax.set_xlim(grid["x2"][0], grid["x2"][-1])
    ax.set_ylim(grid["x1"][0], grid["x1"][-1])


WHERE_NAMES = {"snapshot": "true (at the snapshot)", "surface": "surface (drawn under it)"}
WHERE_COLORS = {WHERE_NAMES["snapshot"]: "black", WHERE_NAMES["surface"]: "tab:purple"}
KIND_NAMES = {True: "main path", False: "subpaths"}


def _display(paths):
    """paths.csv rows for the line plots: each subpath led by its branch point (the main-path
    rows at its decay epoch, when the main path has them), and the legend's words in the
    columns "evaluated at" and "run" (main path / subpaths)."""
    main = paths[paths["path"] == MAIN]
    leads = [
        main[main["epoch"] == decay_of(label)].assign(path=label) for label in paths["path"].unique() if label != MAIN
    ]
    table = pd.concat([paths, *leads], ignore_index=True)
    return table.assign(
        **{"evaluated at": table["evaluated_at"].map(WHERE_NAMES), "run": (table["path"] == MAIN).map(KIND_NAMES)}
    )


def _gap_panel(ax, table, split, loss, legend, gap):
    """True loss along every path beside the surface's loss at its (PC1, PC2)."""
    rows = table[table["split"] == split]
    sns.lineplot(
        data=rows,
        x="epoch",
        y="loss",
        hue="evaluated at",
        style="run",
        units="path",
        estimator=None,
        palette=WHERE_COLORS,
        hue_order=list(WHERE_COLORS),
        style_order=list(KIND_NAMES.values()),
        dashes={KIND_NAMES[True]: "", KIND_NAMES[False]: (2.5, 1.2)},
        lw=1.0,
        sort=True,
        ax=ax,
        legend=legend,
    )
    if (rows["loss"] > 0).all() and rows["loss"].max() > 10 * rows["loss"].min():
        ax.set_yscale("log")  # surface losses far above the true ones (or the reverse)
    ax.set_title(f"{split} loss along the paths\nmedian |true − surface| = {gap:.3g}")
    ax.set_ylabel(f"{split} loss ({loss})")


def _distance_panel(ax, table, r2, snapshots):
    """Distance of each snapshot from the surface point at its (PC1, PC2); the statistics
    in the title are over ``snapshots`` (paths.csv rows, each snapshot once)."""
    rows = table[(table["split"] == "train") & (table["evaluated_at"] == "snapshot")]
    sns.lineplot(
        data=rows,
        x="epoch",
        y="distance",
        style="run",
        units="path",
        estimator=None,
        color="0.25",
        style_order=list(KIND_NAMES.values()),
        dashes={KIND_NAMES[True]: "", KIND_NAMES[False]: (2.5, 1.2)},
        lw=1.0,
        sort=True,
        legend=False,
        ax=ax,
    )
    ax.set_ylim(bottom=0)
    fit = "" if np.isnan(r2) else f"\nPC3 fit R² = {r2:.2g}"
    ax.set_title(
        f"distance from the surface\nmedian {snapshots['distance'].median():.3g}, "
        f"max {snapshots['distance'].max():.3g}{fit}"
    )
    ax.set_ylabel(r"$\|\theta - \theta_{\rm surface}(c_1, c_2)\|$")


def make_figure(
    grid, projection, paths, color_scale="quantile", levels=30, loss="mse", color_quantile=1.0, quantile_power=2.0
):
    """Fig. 2 from grid.npz and projection.npz contents and the paths.csv table (pandas).

    Top: the train- and test-loss landscapes, each colour scale (``color_levels``) from the
    panel's minimum to its ``color_quantile`` quantile. Bottom: true against surface loss
    along the paths, and the distance of the snapshots from the surface."""
    color = dict(n=levels, scale=color_scale, quantile=color_quantile, power=quantile_power)
    lines = trajectories(projection)
    with style.context():
        fig = Figure(figsize=(8.0, 6.6), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.45, 1.0])
        axes = top.subplots(1, 2)
        surface = str(grid["surface"])
        for ax, key, name in zip(axes, ("train_loss", "test_loss"), ("train loss", "test loss")):
            _panel(top, ax, grid, key, f"{name} ({loss})", lines, color)
        top.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
        cap = "" if color_quantile >= 1 else f"; colours capped at the {color_quantile:g} quantile"
        top.suptitle(
            f"Loss landscape on the {surface} PCA surface "
            f"({int(grid['n_train'])} train / {int(grid['n_test'])} test images{cap})"
        )
        table = _display(paths)
        stats = bottom.subplots(1, 3)
        for ax, split in zip(stats, ("train", "test")):
            _gap_panel(ax, table, split, loss, legend=split == "train", gap=float(loss_gaps(paths, split).median()))
        coords = projection["coords"]
        r2 = quadratic_fit_r2(coords[:, 0], coords[:, 2], projection["pc3_fit"]) if coords.shape[1] > 2 else np.nan
        once = paths[(paths["split"] == "train") & (paths["evaluated_at"] == "snapshot")]
        _distance_panel(stats[2], table, r2, once)
        handles, labels = stats[0].get_legend_handles_labels()
        stats[0].get_legend().remove()
        keep = [i for i, label in enumerate(labels) if label not in ("evaluated at", "run")]
        bottom.legend(
            [handles[i] for i in keep], [labels[i] for i in keep], loc="outside lower center", ncols=4, frameon=False
        )
        bottom.suptitle(
            f"Where the trajectories are: the loss at each snapshot against the {surface} surface's loss "
            "at its (PC1, PC2)",
            fontsize="medium",
        )
    return fig
