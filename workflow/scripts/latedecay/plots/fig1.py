"""Fig. 1: main-path learning curves (a), subpath loss heat maps (b, c), final losses (d), the
paired effect (e), the verdict.

Curves and heat maps come from the metrics (``fig1_runs.Runs``); (d), (e) and the verdict
draw results/fig1_summary.csv and fig1_verdict.json as fig1_summary wrote them, so the
figure shows the tables' numbers and computes none of its own. Curves are seed means with a
band spanning the seeds; heat maps show the seed mean.
"""

import logging
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import colors, ticker
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from latedecay.fig1_table import per_seed_rows
from latedecay.plots import style

log = logging.getLogger("latedecay.fig1")

ARCH_NAMES = {"vgg_small": "VGG-11 (authors' small, no BN)", "vgg11_bn": "VGG-11-BN"}
LOSS_NAMES = {"mse": "MSE loss", "cross_entropy": "cross-entropy loss"}
TEST_SETS = {
    "train_all": "all CIFAR-10 training images (the authors' protocol)",
    "test": "the official CIFAR-10 test split",
    "train_rest": "the CIFAR-10 training images outside the training subset",
}
TRAIN, TEST, MAIN_REF = "C0", "C3", "0.45"


@dataclass(frozen=True)
class Settings:
    """The fig1 rule's ``params.options`` (config["fig1"]) plus ``params.labels`` (titles)."""

    final_window: int
    smooth_epochs: int
    heatmap_train: str
    log_color: bool
    main_lr: float | None = None
    sub_lr: float | None = None
    sub_ramp_epochs: int = 0
    arch: str | None = None
    loss: str | None = None
    eval_set: str | None = None
    eval_limit: int | None = None

    @classmethod
    def from_params(cls, options, labels=None):
        return cls(**options, **(labels or {}))


def rolling_mean(values, window):
    """Trailing rolling mean; the first ``window - 1`` points average what exists so far."""
    return pd.Series(values, dtype=float).rolling(window, min_periods=1).mean().to_numpy()


def smoothed(batch, window, by):
    """``batch`` with its train_batch_loss replaced by the trailing rolling mean within each ``by`` group."""
    loss = batch.groupby(by, sort=False)["train_batch_loss"].transform(lambda v: rolling_mean(v, window))
    return batch.assign(train_batch_loss=loss)


def cell_edges(centers):
    """Cell boundaries halfway between sorted centres; outer cells as wide as their neighbour."""
    c = np.asarray(centers, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def heatmap_grid(runs, quantity, smooth):
    """Seed-mean grid: rows = decay epochs, columns = epochs after the decay; NaN where a row has no value.

    ``quantity`` is "batch" (smoothed mini-batch loss) or an evaluation metric.
    """
    if quantity == "batch":
        frame, quantity = smoothed(runs.sub_batch, smooth, ["seed", "decay_epoch"]), "train_batch_loss"
    else:
        frame = runs.sub_eval
    grid = frame.pivot_table(index="decay_epoch", columns="epoch", values=quantity, aggfunc="mean", dropna=False)
    return grid.columns.to_numpy(), grid.index.to_numpy(), grid.to_numpy(dtype=float)


def color_norm(grid, log_scale):
    """A heat map's own colour scale, over its finite values; log only when every value is positive.

    Each map gets its own: the train loss sits far below the test loss, and on one shared
    scale the test-loss map -- where the paper's claim shows -- would be a single colour."""
    finite = grid[np.isfinite(grid)]
    if finite.size == 0:
        return colors.Normalize(0, 1)
    lo, hi = finite.min(), finite.max()
    if log_scale and lo <= 0:
        log.warning("fig1.log_color: losses reach %g <= 0, using a linear colour scale", lo)
        log_scale = False
    return colors.LogNorm(lo, hi) if log_scale else colors.Normalize(lo, hi)


def seed_band(runs):
    """seaborn errorbar over seeds: their full range (none with one seed)."""
    return ("pi", 100) if len(runs.seeds) > 1 else None


def main_curves(runs, smooth):
    """Tidy frame (seed, epoch, curve, loss) of panel (a)."""
    batch = smoothed(runs.main_batch, smooth, "seed").rename(columns={"train_batch_loss": "loss"})
    ev = runs.main_eval
    parts = [
        batch.assign(curve=f"train, mini-batch (rolling mean {smooth} ep.)"),
        ev.rename(columns={"train_loss": "loss"}).assign(curve="train, full pass"),
        ev.rename(columns={"test_loss": "loss"}).assign(curve="test, full pass"),
    ]
    return pd.concat([p[["seed", "epoch", "curve", "loss"]] for p in parts], ignore_index=True)


def plot_main(ax_loss, ax_acc, runs, smooth):
    raw = runs.main_batch.groupby("epoch")["train_batch_loss"].mean()
    ax_loss.plot(raw.index, raw.to_numpy(), color=TRAIN, alpha=0.25, lw=0.6)
    curves = main_curves(runs, smooth)
    sns.lineplot(
        data=curves,
        x="epoch",
        y="loss",
        hue="curve",
        style="curve",
        ax=ax_loss,
        errorbar=seed_band(runs),
        palette=[TRAIN, TRAIN, TEST],
        dashes=["", (4, 2), ""],
    )
    ax_loss.set_yscale("log")
    decays = list(runs.decay_epochs)
    # Mark the branch points of the subpaths on the epoch axis.
    ax_loss.plot(
        decays,
        np.zeros(len(decays)),
        "^",
        color="0.3",
        ms=4,
        clip_on=False,
        transform=ax_loss.get_xaxis_transform(),
        label="decay epochs (subpaths)",
    )
    ax_loss.legend(frameon=True, framealpha=0.85, loc="upper right", fontsize="small", title=None)
    ax_loss.tick_params(labelbottom=False)
    ax_loss.set_xlabel("")
    acc = runs.main_eval.melt(["seed", "epoch"], ["train_acc", "test_acc"], var_name="set", value_name="accuracy")
    acc["set"] = acc["set"].str.removesuffix("_acc")
    sns.lineplot(
        data=acc,
        x="epoch",
        y="accuracy",
        hue="set",
        style="set",
        ax=ax_acc,
        errorbar=seed_band(runs),
        palette=[TRAIN, TEST],
        dashes=[(4, 2), ""],
    )
    ax_acc.set_xlabel("epoch")
    ax_acc.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax_acc.legend(frameon=False, ncols=2, title=None)


def plot_heatmap(ax, grid, norm):
    x, y, z = grid
    ax.set_xlabel("epochs after decay")
    ax.set_ylabel("epochs before decay (decay epoch)")
    if z.size == 0:
        ax.text(0.5, 0.5, "no subpaths", ha="center", va="center", transform=ax.transAxes)
        return None
    mesh = ax.pcolormesh(
        cell_edges(x), cell_edges(y), np.ma.masked_invalid(z), norm=norm, shading="flat", rasterized=True
    )
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    if len(y) <= 16:
        ax.set_yticks(y)
    return mesh


def plot_final(ax, table, verdict, k):
    """(d) final test loss per decay epoch beside the main path's own after as many epochs:
    per-seed points, and the table's seed means with their 95% intervals."""
    ax.set_xlabel(f"test loss (mean of last {k} evals)")
    ax.tick_params(labelleft=False)
    ax.tick_params(axis="x", labelrotation=45)
    if table.empty:
        return
    rows, pooled = per_seed_rows(table), table.set_index(["seed", "decay_epoch"])
    curves = (("test_loss", TEST, "subpath, final"), ("main_test_loss", MAIN_REF, "main path, same epoch"))
    for column, color, label in curves:
        ax.plot(rows[column], rows["decay_epoch"], ".", color=color, alpha=0.35, ms=3)
        mean = pooled.loc["mean", column]
        ends = [pooled.loc[mark, column].reindex(mean.index) for mark in ("ci95_low", "ci95_high")]
        ax.errorbar(
            mean,
            mean.index,
            xerr=np.abs(np.vstack(ends) - mean.to_numpy()),
            color=color,
            marker="o",
            ms=3,
            capsize=2,
            label=label,
        )
    ax.legend(frameon=False, loc="upper left", fontsize="x-small")
    rho, p = verdict.get("spearman_rho"), verdict.get("spearman_p")
    ax.set_title("Spearman $\\rho$: n/a" if rho is None else f"Spearman $\\rho$ = {rho:.2f}, p = {p:.2g}")
    ax.locator_params(axis="x", nbins=3)


def effect_line(verdict, decays):
    """(e)'s line and band: the seed-mean gain fit (through the pooled gain at the mean decay
    epoch) with the slope's 95% interval; None where the verdict has no slope."""
    slope, ci = verdict.get("gain_slope"), verdict.get("gain_slope_ci95") or [None, None]
    if slope is None or not decays:
        return None
    d = np.asarray(decays, dtype=float)
    centre = d - d.mean()
    at = lambda b: verdict["gain_vs_main"] + b * centre  # noqa: E731
    band = None if None in ci else np.sort(np.vstack([at(ci[0]), at(ci[1])]), axis=0)
    return d, at(slope), band


def plot_effect(ax, table, verdict):
    """(e) the paired effect: each seed's gain (subpath final - main path, same epochs) against
    the decay epoch, the mean slope with its 95% band, and the outcome."""
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_xlabel("gain vs main path (test loss)")
    ax.tick_params(labelleft=False)
    ax.tick_params(axis="x", labelrotation=45)
    rows = per_seed_rows(table)
    rows = rows[rows["decay_epoch"].isin(verdict.get("gain_decay_epochs") or [])]
    if not rows.empty:
        data = rows.astype({"gain_vs_main": float, "decay_epoch": float, "seed": str})
        sns.lineplot(
            data=data,
            x="gain_vs_main",
            y="decay_epoch",
            hue="seed",
            orient="y",
            marker="o",
            ms=3,
            lw=0.7,
            alpha=0.6,
            estimator=None,
            ax=ax,
            palette="Greys",
            legend=False,
        )
    line = effect_line(verdict, verdict.get("gain_decay_epochs") or [])
    if line is not None:
        d, fit, band = line
        ax.plot(fit, d, color=TEST, lw=1.5, label="mean slope over seeds")
        if band is not None:
            ax.fill_betweenx(d, band[0], band[1], color=TEST, alpha=0.2, lw=0, label="95% CI of the slope")
        ax.legend(frameon=False, loc="upper left", fontsize="x-small")
    ax.set_title(f"later decay: {verdict.get('later_decay')}")
    ax.locator_params(axis="x", nbins=3)


def test_set_label(eval_set, eval_limit):
    where = TEST_SETS.get(eval_set, eval_set)
    return f"test loss on {where}" + (f", first {eval_limit} images" if eval_limit else "")


def titles(settings, n_seeds):
    train_kind = "mini-batch, train mode" if settings.heatmap_train == "batch" else "full pass"
    s = settings
    seeds = f"{n_seeds} seed{'s' if n_seeds > 1 else ''}"
    ramp = f" (linear from {s.main_lr:g} over {s.sub_ramp_epochs} epochs)" if s.sub_ramp_epochs else ""
    head = f"{ARCH_NAMES.get(s.arch, s.arch)} on CIFAR-10; main path LR {s.main_lr:g}; subpaths LR {s.sub_lr:g}{ramp}"
    return (
        f"{head}; {seeds}\n{test_set_label(s.eval_set, s.eval_limit)}",
        [
            f"(a) main path, LR {s.main_lr:g}",
            f"(b) train loss ({train_kind})",
            "(c) test loss (full pass)",
            "(d) final test loss",
            "(e) paired effect",
        ],
    )


def make_figure(runs, table, verdict, settings):
    """Fig. 1 from ``Runs`` and the summary table and verdict fig1_summary wrote; ``settings`` a ``Settings``."""
    train_quantity = "batch" if settings.heatmap_train == "batch" else "train_loss"
    grids = [heatmap_grid(runs, q, settings.smooth_epochs) for q in (train_quantity, "test_loss")]
    suptitle, panel_titles = titles(settings, len(runs.seeds))
    with style.context():
        fig = Figure(figsize=(16, 4.8), layout="constrained")
        gs = GridSpec(2, 5, figure=fig, height_ratios=[3, 1], width_ratios=[1.15, 1, 1, 0.55, 0.55])
        ax_loss, ax_acc = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[1, 0], sharex=fig.axes[0])
        plot_main(ax_loss, ax_acc, runs, settings.smooth_epochs)
        ax_loss.set_ylabel(LOSS_NAMES.get(settings.loss, settings.loss))
        ax_b = fig.add_subplot(gs[:, 1])
        ax_c = fig.add_subplot(gs[:, 2], sharey=ax_b)
        meshes = [plot_heatmap(ax, g, color_norm(g[2], settings.log_color)) for ax, g in zip((ax_b, ax_c), grids)]
        ax_c.set_ylabel("")
        ax_c.tick_params(labelleft=False)
        ax_d = fig.add_subplot(gs[:, 3], sharey=ax_b)
        plot_final(ax_d, table, verdict, settings.final_window)
        ax_e = fig.add_subplot(gs[:, 4], sharey=ax_b)
        plot_effect(ax_e, table, verdict)
        for ax, title in zip((ax_loss, ax_b, ax_c), panel_titles):
            ax.set_title(title)
        for ax, title in zip((ax_d, ax_e), panel_titles[3:]):
            ax.set_title(f"{title}\n{ax.get_title()}")
        for ax, mesh in zip((ax_b, ax_c), meshes):
            if mesh is not None:
                fig.colorbar(mesh, ax=ax, label=LOSS_NAMES.get(settings.loss, settings.loss), shrink=0.9)
        wrapped = textwrap.fill(f"Verdict: {verdict['verdict']}", 210)
        fig.suptitle(f"{suptitle}\n{wrapped}", fontsize=9)
    return fig
