"""Fig. 1: main-path learning curves (a) and subpath loss heat maps (b, c).

Inputs are the curves of ``latedecay.nn.summary`` (``load_main_path``,
``load_subpaths``).
"""

import logging

import numpy as np
from matplotlib import colors, ticker
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from latedecay.nn.summary import summarize
from latedecay.plots import style

log = logging.getLogger("latedecay.fig1")

ARCH_NAMES = {"vgg_small": "VGG-11 (authors' small, no BN)", "vgg11_bn": "VGG-11-BN"}
LOSS_NAMES = {"mse": "MSE loss", "cross_entropy": "cross-entropy loss"}
TEST_SETS = {
    "train_all": "all CIFAR-10 training images (the authors' protocol)",
    "test": "the official CIFAR-10 test split",
    "train_rest": "the CIFAR-10 training images outside the training subset",
}
TRAIN, TEST = "C0", "C3"


def rolling_mean(values, window):
    """Trailing rolling mean; the first ``window - 1`` points average what exists so far."""
    values = np.asarray(values, dtype=float)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def cell_edges(centers):
    """Cell boundaries halfway between sorted centres; outer cells as wide as their neighbour."""
    c = np.asarray(centers, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def subpath_series(sub, quantity, smooth):
    """(epochs after decay, values) of one subpath: "batch" = smoothed mini-batch loss, else an eval key."""
    if quantity == "batch":
        return sub["epochs"], rolling_mean(sub["train_batch_loss"], smooth)
    return sub["eval"]["epoch"], sub["eval"][quantity]


def heatmap_grid(subs, quantity, smooth):
    """Rows = subpaths (by decay epoch), columns = union of their epochs; NaN where a row has no value."""
    series = [subpath_series(s, quantity, smooth) for s in subs]
    x = np.unique(np.concatenate([e for e, _ in series])) if series else np.array([], dtype=int)
    z = np.full((len(subs), len(x)), np.nan)
    for row, (epochs, values) in enumerate(series):
        z[row, np.searchsorted(x, epochs)] = values
    return x, np.array([s["decay_epoch"] for s in subs]), z


def shared_norm(grids, log_scale):
    """One colour scale for all heat maps; log only when every value is positive."""
    finite = np.concatenate([g[np.isfinite(g)] for g in grids]) if grids else np.array([])
    if finite.size == 0:
        return colors.Normalize(0, 1)
    lo, hi = finite.min(), finite.max()
    if log_scale and lo <= 0:
        log.warning("fig1.log_color: losses reach %g <= 0, using a linear colour scale", lo)
        log_scale = False
    return colors.LogNorm(lo, hi) if log_scale else colors.Normalize(lo, hi)


def plot_main(ax_loss, ax_acc, main, decay_epochs, smooth):
    ev = main["eval"]
    ax_loss.plot(main["epochs"], main["train_batch_loss"], color=TRAIN, alpha=0.25, lw=0.6)
    ax_loss.plot(
        main["epochs"],
        rolling_mean(main["train_batch_loss"], smooth),
        color=TRAIN,
        label=f"train, mini-batch (rolling mean {smooth} ep.)",
    )
    ax_loss.plot(ev["epoch"], ev["train_loss"], color=TRAIN, ls="--", label="train, full pass")
    ax_loss.plot(ev["epoch"], ev["test_loss"], color=TEST, label="test, full pass")
    ax_loss.set_yscale("log")
    # Mark the branch points of the subpaths on the epoch axis.
    ax_loss.plot(
        decay_epochs,
        np.zeros(len(decay_epochs)),
        "^",
        color="0.3",
        ms=4,
        clip_on=False,
        transform=ax_loss.get_xaxis_transform(),
        label="decay epochs (subpaths)",
    )
    ax_loss.legend(frameon=True, framealpha=0.85, loc="upper right", fontsize="small")
    ax_loss.tick_params(labelbottom=False)
    ax_acc.plot(ev["epoch"], ev["train_acc"], color=TRAIN, ls="--", label="train")
    ax_acc.plot(ev["epoch"], ev["test_acc"], color=TEST, label="test")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_xlabel("epoch")
    ax_acc.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax_acc.legend(frameon=False, ncols=2)


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


def plot_final(ax, rows):
    """Final test loss per subpath beside heat map (c): the paper's claim at a glance."""
    k = max((r["n_evals"] for r in rows), default=0)
    ax.set_xlabel(f"final test loss\n(mean of last {k} evals)")
    ax.tick_params(labelleft=False)
    ax.tick_params(axis="x", labelrotation=45)
    if not rows:
        return
    ax.plot([r["test_loss"] for r in rows], [r["decay_epoch"] for r in rows], "o-", color=TEST, ms=3)
    rho = rows[0]["spearman_rho"]
    ax.set_title("Spearman $\\rho$: < 3 subpaths" if np.isnan(rho) else f"Spearman $\\rho$ = {rho:.2f}")
    ax.locator_params(axis="x", nbins=3)


def test_set_label(eval_set, eval_limit):
    where = TEST_SETS.get(eval_set, eval_set)
    return f"test loss on {where}" + (f", first {eval_limit} images" if eval_limit else "")


def titles(heatmap_train, main_lr, sub_lr, arch, test_label):
    train_kind = "mini-batch, train mode" if heatmap_train == "batch" else "full pass"
    head = f"{ARCH_NAMES.get(arch, arch)} on CIFAR-10; main path LR {main_lr:g}; subpaths LR {sub_lr:g}"
    return (
        f"{head}\n{test_label}",
        [f"(a) main path, LR {main_lr:g}", f"(b) train loss ({train_kind})", "(c) test loss (full pass)"],
    )


def make_figure(
    main,
    subs,
    *,
    main_lr,
    sub_lr,
    arch,
    loss,
    eval_set,
    eval_limit,
    log_color,
    smooth_epochs,
    heatmap_train,
    final_window,
):
    """Build Fig. 1; ``heatmap_train`` is "batch" (smoothed mini-batch loss) or "eval" (full pass)."""
    train_quantity = "batch" if heatmap_train == "batch" else "train_loss"
    grids = [heatmap_grid(subs, q, smooth_epochs) for q in (train_quantity, "test_loss")]
    norm = shared_norm([g[2] for g in grids], log_color)
    suptitle, panel_titles = titles(
        heatmap_train, main_lr, sub_lr, arch, test_set_label(eval_set, eval_limit)
    )
    with style.context():
        fig = Figure(figsize=(12.5, 4), layout="constrained")
        gs = GridSpec(2, 4, figure=fig, height_ratios=[3, 1], width_ratios=[1.15, 1, 1, 0.3])
        ax_loss, ax_acc = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[1, 0], sharex=fig.axes[0])
        plot_main(ax_loss, ax_acc, main, [s["decay_epoch"] for s in subs], smooth_epochs)
        ax_loss.set_ylabel(LOSS_NAMES.get(loss, loss))
        ax_b = fig.add_subplot(gs[:, 1])
        ax_c = fig.add_subplot(gs[:, 2], sharey=ax_b)
        meshes = [plot_heatmap(ax, g, norm) for ax, g in zip((ax_b, ax_c), grids)]
        ax_c.set_ylabel("")
        ax_c.tick_params(labelleft=False)
        plot_final(fig.add_subplot(gs[:, 3], sharey=ax_b), summarize(subs, final_window))
        for ax, title in zip((ax_loss, ax_b, ax_c), panel_titles):
            ax.set_title(title)
        if meshes[0] is not None:
            fig.colorbar(meshes[0], ax=fig.axes[2:], label=LOSS_NAMES.get(loss, loss), shrink=0.9)
        fig.suptitle(suptitle, fontsize=9)
    return fig
