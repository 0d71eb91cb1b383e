"""Fig. 3, Fig. 4 and the theory-check figure of the toy models.

Each draws what ``latedecay.toy.figure_data`` computed (same name: ``fig3``, ``fig4``,
``theory``) and computes nothing itself; save with ``style.save(fig, path)``.
"""

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from latedecay.plots import style

TITLES = {
    "linear": r"linear $w^\top x$",
    "diagonal": r"diagonal $(w^{\odot 3})^\top x$",
    "reparam": r"reparam. $\|w\|^\gamma w^\top x$",
}


def _log_mesh(ax, W1, W2, Z, decades):
    """Log-coloured loss surface; zeros (the manifold) are clipped to the floor."""
    vmax = float(Z.max())
    vmin = vmax * 10.0 ** (-decades)
    m = ax.pcolormesh(
        W1, W2, np.clip(Z, vmin, vmax), norm=LogNorm(vmin, vmax), cmap="viridis", shading="auto", rasterized=True
    )
    ax.set_aspect("equal")
    return m


def _manifold(ax, W1, W2, g, **kw):
    """Training minima manifold {X beta(w) = y}: the zero level set of ``g`` = X beta(w) - y."""
    return ax.contour(
        W1, W2, g, levels=[0.0], colors=kw.pop("colors", "white"), linewidths=kw.pop("linewidths", 1.5), **kw
    )


def fig3(d, decades=6):
    """Training and testing landscapes of the three models (rows), Fig. 3, from ``figure_data.fig3``."""
    W1, W2, w_star = d["W1"], d["W2"], d["w_star"]
    with style.context():
        fig = Figure(figsize=(12, 8), layout="constrained")
        axes = fig.subplots(2, 3)
        for j, m in enumerate(d["models"]):
            for i, (kind, Z) in enumerate(m["surfaces"].items()):
                ax = axes[i, j]
                mesh = _log_mesh(ax, W1, W2, Z, decades)
                _manifold(ax, W1, W2, m["manifold"])
                ax.plot(*w_star, "r*", ms=14, mec="k", label="test minimum $w^*$")
                ax.plot(*m["w_mn"], "o", color="orange", ms=9, mec="k", label="min-norm point of manifold")
                if m["alt"] is not None:
                    ax.plot(*m["alt"], "^", color="cyan", ms=8, mec="k", label=r"$\beta^{-1}(X^+y)$")
                ax.set_title(f"{TITLES[m['name']]}: {kind} loss")
                ax.set_xlabel("$w_1$")
                ax.set_ylabel("$w_2$")
                fig.colorbar(mesh, ax=ax, shrink=0.8)
                ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        setting = f"w* = {list(map(float, w_star))}, x = {list(map(float, d['x']))}, gamma = {d['gamma']:g}"
        fig.suptitle(f"d = 2, n = 1, {setting}; white: training minima manifold")
    return fig


def fig4(d, decades=5):
    """Phase I and Phase II on a simulated reparam trajectory in d = 2 (Fig. 4), from ``figure_data.fig4``."""
    s, path, k1, limit = d["settings"], d["path"], d["k1"], d["limit"]
    with style.context():
        fig = Figure(figsize=(7, 7), layout="constrained")
        ax = fig.subplots()
        mesh = _log_mesh(ax, d["W1"], d["W2"], d["train"], decades)
        mesh.set_alpha(0.6)
        fig.colorbar(mesh, ax=ax, shrink=0.7, label="training loss")
        _manifold(ax, d["W1"], d["W2"], d["manifold"], colors="k", linewidths=2)
        ax.plot(*d["gf"].T, "w--", lw=2, label="gradient flow from $w(0)$")
        ax.plot(*path[: k1 + 1].T, color="tab:red", lw=1.2, label=f"SGD Phase I ({d['k1_step']} steps)")
        thin = max(1, (len(path) - k1) // 3000)  # keep the PDF light
        ax.plot(*path[k1::thin].T, color="tab:orange", lw=0.6, alpha=0.9, label="SGD Phase II (drift along manifold)")
        ax.plot(*path[0], "ks", ms=8, label="$w(0)$")
        ax.plot(*path[-1], "o", color="tab:orange", mec="k", ms=8, label="SGD end")
        ax.plot(*d["w_mn"], "o", color="white", mec="k", ms=8, label="min-norm point")
        t = np.linspace(0, 2 * np.pi, 400)
        r = d["r_flat"]
        ax.plot(r * np.cos(t), r * np.sin(t), ":", color="0.3", lw=1, label="flattest radius on manifold")
        _normal_tangent(ax, path[k1], d["normal"], d["tangent"], 0.15 * limit)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax.legend(loc="lower left", fontsize=8, framealpha=0.85)
        noise = f", $\\sigma$ {s['sigma']:g}" if "sigma" in s else ""
        ax.set_title(f"reparam. model, {s['simulator']} SGD, lr {s['lr'][0]:g}{noise}")
    return fig


def _normal_tangent(ax, p, normal, tangent, length):
    """Arrows of the normal (gradient of X beta) and tangent space at p."""
    for v, c, lab in [(normal, "tab:blue", "normal space"), (tangent, "tab:green", "tangent space")]:
        ax.annotate("", xy=p + length * v, xytext=p, arrowprops=dict(arrowstyle="->", color=c, lw=2))
        ax.plot([], [], color=c, lw=2, label=lab)


def theory(panels):
    """Six panels: linear mixing, linear late decay, drift, Phase-II time, late decay, contrasts
    (``figure_data.theory``)."""
    with style.context():
        fig = Figure(figsize=(16, 9.5), layout="constrained")
        axes = fig.subplots(2, 3)
        _panel_linear_mixing(axes[0, 0], panels["linear_mixing"])
        _panel_late(
            axes[0, 1],
            panels["linear_late"],
            "interpolator GD reaches from $w(0)$",
            "1. linear: final test loss vs $T_1$",
        )
        _panel_drift(axes[0, 2], panels["drift"])
        _panel_phase2(axes[1, 0], panels["phases"])
        _panel_late(
            axes[1, 1], panels["late"], "closed-form min-norm value", "3. reparam. late decay: final test loss vs $T_1$"
        )
        _panel_contrast(axes[1, 2], panels["contrast"])
    return fig


def _after_start(curve):
    """A norm-ratio curve without its step-0 record (log step axis)."""
    return curve["steps"][1:], curve["ratio"][1:]


def _panel_linear_mixing(ax, curves):
    for d, c in zip(curves, ["tab:blue", "tab:green", "tab:red"]):
        label = f"{d['simulator']}: rate {d['rate']:.3g}/step, max orth. drift {d['drift']:.1e}"
        ax.semilogy(d["steps"], d["gap"], color=c, label=label)
        if d["theory"] is not None:
            ax.semilogy(d["steps"], d["theory"], ":", color=c, lw=2)
    ax.set_ylim(bottom=1e-17)
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\|P_X(w_a - w_b)\|$ (coupled starts)")
    ax.set_title("1. linear: column-space part forgets its start\n(dotted: full-batch contraction rate)")
    ax.legend(fontsize=7)


def _panel_late(ax, d, ref_label, title):
    s = d["settings"]
    ax.errorbar(
        d["t1"],
        d["mean"],
        yerr=d["sem"],
        fmt="o-",
        capsize=3,
        label=f"lr {s['lr'][0]:g} for $T_1$, then x{s['decay_factor']:g} for {s['steps_after_decay']} steps",
    )
    ax.axhline(d["ref"], color="k", ls="--", label=ref_label)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel("$T_1$ (steps at the large lr)")
    ax.set_ylabel("final test loss (mean over chains)")
    ax.set_title(title)
    ax.legend(fontsize=7)


def _panel_drift(ax, curves):
    for curve in curves:
        ax.plot(*_after_start(curve), label=f"lr {curve['lr']:g}")
    ax.axhline(1.0, color="k", ls="--", label=r"$\|w_{mn}\|$")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\|w\| / \|w_{mn}\|$ (mean over chains)")
    ax.set_title("2. reparam., label-noise SGD: drift to the min-norm point")
    ax.legend(fontsize=7)


def _panel_phase2(ax, d):
    lr, t2, fit = d["lr"], d["phase2_steps"], d["fit"]
    ax.loglog(lr, t2, "o", ms=8, label=f"Phase II: mean $\\|w\\|/\\|w_{{mn}}\\| - 1 \\leq {d['phase2_tol']:g}$")
    ax.loglog(*d["phase1"].T, "s", label=f"Phase I: train loss $\\leq {d['phase1_factor']:g}\\times$ stationary")
    if fit is not None:
        ax.loglog(lr, fit["steps"], "-", label=f"fit: steps $\\propto$ lr$^{{{fit['exponent']:.2f}}}$")
        ax.loglog(lr, fit["inverse_square"], ":", color="k", label="lr$^{-2}$")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("steps")
    ax.set_title("2. Phase I and Phase II times against lr")
    ax.legend(fontsize=7)


def _panel_contrast(ax, d):
    lr = d["lr"]
    ax.plot(*_after_start(d["minibatch"]), color="tab:green", label=f"plain mini-batch SGD, lr {lr:g}: stops")
    if d["drift"] is not None:
        ax.plot(*_after_start(d["drift"]), color="tab:blue", label=f"label-noise SGD, lr {lr:g}: drifts")
    ax.plot(*_after_start(d["n1"]), color="tab:purple", label="label noise, $n=1$ (Fig. 3 setting)")
    ax.axhline(d["n1_flat"], color="tab:purple", ls=":", label=f"$n=1$ flattest radius ({d['n1_flat']:.3f})")
    ax.axhline(1.0, color="k", ls="--", label="min-norm point")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\|w\| / \|w_{mn}\|$ (mean over chains)")
    ax.set_title("4. contrasts: no drift without label noise;\n$n=1$ drifts to the flattest point, not min-norm")
    ax.legend(fontsize=7)
