"""Fig. 2: train-loss and test-loss landscapes on the PCA surface, with the trajectories,
and how far the trajectories sit from that surface.

Top row, axes as in the paper: x = PC2, y = PC1. Main path: orange line; subpaths: blue
dashed lines through their snapshots in order, from their branch point on the main path;
red star: the last point of the longest trajectory (the one reaching the largest epoch).
Bottom row (seaborn, from paths.csv): train and test loss along every path, at the
snapshots themselves (true) and at the surface points drawn under them, and each
snapshot's distance from the surface. numpy, pandas, matplotlib and seaborn only (plot
environment).

``make_figure`` draws what ``latedecay.landscape.figure_data.fig2`` computed and computes
nothing itself but the colour scale (``color_levels``: how the loss grid is coloured).
"""

import numpy as np
import seaborn as sns
from matplotlib import colors, patheffects, ticker
from matplotlib.figure import Figure

from latedecay.names import MAIN
from latedecay.plots import style

MAIN_COLOR, SUB_COLOR, STAR_COLOR = "tab:orange", "tab:blue", "red"


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


def _panel(fig, ax, d, split, title, color):
    values = d.landscapes[split]
    lv, norm, ticks = color_levels(values, **color)
    filled = ax.contourf(d.x2, d.x1, np.clip(values, lv[0], lv[-1]), levels=lv, norm=norm, cmap="viridis")
    filled.set_edgecolor("face")  # no hairline seams between levels in PDF viewers
    fig.colorbar(filled, ax=ax, ticks=ticks, format="%.3g", label=f"{title}{SCALE_NOTES[color['scale']]}")
    c1, c2, _ = d.trajectories[MAIN]
    ax.plot(c2, c1, color=MAIN_COLOR, lw=1.4, zorder=2, label="main path")
    subs = [p for label, p in d.trajectories.items() if label != MAIN]
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
    star_pc1, star_pc2, star_epoch = d.star
    ax.plot(
        star_pc2,
        star_pc1,
        marker="*",
        color=STAR_COLOR,
        ms=11,
        ls="none",
        markeredgecolor="white",
        markeredgewidth=0.5,
        zorder=4,
        label=f"end of longest run (epoch {star_epoch})",
    )
    ax.set_title(title)
    ax.set_xlabel(f"PC2 ({100 * d.ratio[1]:.1f} % of variance)")
    ax.set_ylabel(f"PC1 ({100 * d.ratio[0]:.1f} % of variance)")
    ax.set_xlim(d.x2[0], d.x2[-1])
    ax.set_ylim(d.x1[0], d.x1[-1])


WHERE_NAMES = {"snapshot": "true (at the snapshot)", "surface": "surface (drawn under it)"}
WHERE_COLORS = {WHERE_NAMES["snapshot"]: "black", WHERE_NAMES["surface"]: "tab:purple"}
KIND_NAMES = {True: "main path", False: "subpaths"}
# One line per run, solid for the main path and dashed for the subpaths, in both bottom panels.
RUN_LINES = {
    "style": "run",
    "units": "path",
    "estimator": None,
    "style_order": list(KIND_NAMES.values()),
    "dashes": {KIND_NAMES[True]: "", KIND_NAMES[False]: (2.5, 1.2)},
    "lw": 1.0,
    "sort": True,
}


def _display(table):
    """The path lines' rows with the legend's words in the columns "evaluated at" and "run"
    (main path / subpaths)."""
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
        palette=WHERE_COLORS,
        hue_order=list(WHERE_COLORS),
        ax=ax,
        legend=legend,
        **RUN_LINES,
    )
    if (rows["loss"] > 0).all() and rows["loss"].max() > 10 * rows["loss"].min():
        ax.set_yscale("log")  # surface losses far above the true ones (or the reverse)
    ax.set_title(f"{split} loss along the paths\nmedian |true − surface| = {gap:.3g}")
    ax.set_ylabel(f"{split} loss ({loss})")


def _distance_panel(ax, table, r2, distance):
    """Distance of each snapshot from the surface point at its (PC1, PC2); ``distance``: its
    (median, max) over the snapshots, for the title."""
    rows = table[(table["split"] == "train") & (table["evaluated_at"] == "snapshot")]
    sns.lineplot(
        data=rows,
        x="epoch",
        y="distance",
        color="0.25",
        legend=False,
        ax=ax,
        **RUN_LINES,
    )
    ax.set_ylim(bottom=0)
    fit = "" if np.isnan(r2) else f"\nPC3 fit R² = {r2:.2g}"
    ax.set_title(f"distance from the surface\nmedian {distance[0]:.3g}, max {distance[1]:.3g}{fit}")
    ax.set_ylabel(r"$\|\theta - \theta_{\rm surface}(c_1, c_2)\|$")


def make_figure(d, color_scale="quantile", levels=30, loss="mse", color_quantile=1.0, quantile_power=2.0):
    """Fig. 2 from ``figure_data.fig2``'s ``Fig2Data`` ``d``.

    Top: the train- and test-loss landscapes, each colour scale (``color_levels``) from the
    panel's minimum to its ``color_quantile`` quantile. Bottom: true against surface loss
    along the paths, and the distance of the snapshots from the surface."""
    color = dict(n=levels, scale=color_scale, quantile=color_quantile, power=quantile_power)
    with style.context():
        fig = Figure(figsize=(8.0, 6.6), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.45, 1.0])
        axes = top.subplots(1, 2)
        for ax, split in zip(axes, ("train", "test")):
            _panel(top, ax, d, split, f"{split} loss ({loss})", color)
        top.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
        cap = "" if color_quantile >= 1 else f"; colours capped at the {color_quantile:g} quantile"
        top.suptitle(f"Loss landscape on the {d.surface} PCA surface ({d.n_train} train / {d.n_test} test images{cap})")
        table = _display(d.lines)
        stats = bottom.subplots(1, 3)
        for ax, split in zip(stats, ("train", "test")):
            _gap_panel(ax, table, split, loss, legend=split == "train", gap=d.loss_gap[split])
        _distance_panel(stats[2], table, d.pc3_r2, d.distance)
        handles, labels = stats[0].get_legend_handles_labels()
        stats[0].get_legend().remove()
        keep = [i for i, label in enumerate(labels) if label not in ("evaluated at", "run")]
        bottom.legend(
            [handles[i] for i in keep], [labels[i] for i in keep], loc="outside lower center", ncols=4, frameon=False
        )
        bottom.suptitle(
            f"Where the trajectories are: the loss at each snapshot against the {d.surface} surface's loss "
            "at its (PC1, PC2)",
            fontsize="medium",
        )
    return fig
