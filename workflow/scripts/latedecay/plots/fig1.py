"""Fig. 1: main-path learning curves (a), subpath loss heat maps (b, c), final losses (d), the
paired effect (e), the verdict.

Draws what ``latedecay.fig1_panels.figure_data`` computed and computes nothing itself; the
colour scales, cell edges, ticks, titles and labels are its own.
"""

import logging
import textwrap

import numpy as np
import seaborn as sns
from matplotlib import colors, ticker
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

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
FINAL_CURVES = (("test_loss", TEST, "subpath, final"), ("main_test_loss", MAIN_REF, "main path, same epoch"))


def cell_edges(centers):
    """Cell boundaries halfway between sorted centres; outer cells as wide as their neighbour."""
    c = np.asarray(centers, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


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


def plot_main(ax_loss, ax_acc, data):
    raw = data.raw_batch
    ax_loss.plot(raw.index, raw.to_numpy(), color=TRAIN, alpha=0.25, lw=0.6)
    sns.lineplot(
        data=data.curves,
        x="epoch",
        y="loss",
        hue="curve",
        style="curve",
        ax=ax_loss,
        errorbar=data.band,
        palette=[TRAIN, TRAIN, TEST],
        dashes=["", (4, 2), ""],
    )
    ax_loss.set_yscale("log")
    decays = list(data.decay_epochs)
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
    sns.lineplot(
        data=data.accuracy,
        x="epoch",
        y="accuracy",
        hue="set",
        style="set",
        ax=ax_acc,
        errorbar=data.band,
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


def plot_final(ax, final, verdict, k):
    """(d) final test loss per decay epoch beside the main path's own after as many epochs:
    per-seed points, and the table's seed means with their 95% intervals."""
    ax.set_xlabel(f"test loss (mean of last {k} evals)")
    ax.tick_params(labelleft=False)
    ax.tick_params(axis="x", labelrotation=45)
    if final is None:
        return
    for column, color, label in FINAL_CURVES:
        f = final[column]
        ax.plot(f.seed_values, f.seed_decays, ".", color=color, alpha=0.35, ms=3)
        ax.errorbar(f.mean, f.mean.index, xerr=f.xerr, color=color, marker="o", ms=3, capsize=2, label=label)
    ax.legend(frameon=False, loc="upper left", fontsize="x-small")
    rho, p = verdict.get("spearman_rho"), verdict.get("spearman_p")
    ax.set_title("Spearman $\\rho$: n/a" if rho is None else f"Spearman $\\rho$ = {rho:.2f}, p = {p:.2g}")
    ax.locator_params(axis="x", nbins=3)


def plot_effect(ax, gains, effect, later_decay):
    """(e) the paired effect: each seed's gain (subpath final - main path, same epochs) against
    the decay epoch, the mean slope with its 95% band, and the outcome."""
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_xlabel("gain vs main path (test loss)")
    ax.tick_params(labelleft=False)
    ax.tick_params(axis="x", labelrotation=45)
    if gains is not None:
        sns.lineplot(
            data=gains,
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
    if effect is not None:
        d, fit, band = effect
        ax.plot(fit, d, color=TEST, lw=1.5, label="mean slope over seeds")
        if band is not None:
            ax.fill_betweenx(d, band[0], band[1], color=TEST, alpha=0.2, lw=0, label="95% CI of the slope")
        ax.legend(frameon=False, loc="upper left", fontsize="x-small")
    ax.set_title(f"later decay: {later_decay}")
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


def make_figure(data):
    """Fig. 1 from ``fig1_panels.figure_data``; save with ``style.save(fig, path)``."""
    settings, verdict = data.settings, data.verdict
    suptitle, panel_titles = titles(settings, data.n_seeds)
    with style.context():
        fig = Figure(figsize=(16, 4.8), layout="constrained")
        gs = GridSpec(2, 5, figure=fig, height_ratios=[3, 1], width_ratios=[1.15, 1, 1, 0.55, 0.55])
        ax_loss, ax_acc = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[1, 0], sharex=fig.axes[0])
        plot_main(ax_loss, ax_acc, data)
        ax_loss.set_ylabel(LOSS_NAMES.get(settings.loss, settings.loss))
        ax_b = fig.add_subplot(gs[:, 1])
        ax_c = fig.add_subplot(gs[:, 2], sharey=ax_b)
        meshes = [plot_heatmap(ax, g, color_norm(g[2], settings.log_color)) for ax, g in zip((ax_b, ax_c), data.grids)]
        ax_c.set_ylabel("")
        ax_c.tick_params(labelleft=False)
        ax_d = fig.add_subplot(gs[:, 3], sharey=ax_b)
        plot_final(ax_d, data.final, verdict, settings.final_window)
        ax_e = fig.add_subplot(gs[:, 4], sharey=ax_b)
        plot_effect(ax_e, data.gains, data.effect, verdict.get("later_decay"))
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
