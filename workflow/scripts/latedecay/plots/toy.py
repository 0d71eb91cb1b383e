"""Fig. 3, Fig. 4 and the theory-check figure of the toy models.

Built on ``matplotlib.figure.Figure`` inside ``style.context()`` like the other
figures; save with ``style.save(fig, path)``.
"""

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from latedecay.plots import style
from latedecay.toy import analysis
from latedecay.toy.experiment import load_settings
from latedecay.toy.models import MODEL_NAMES, flattest_radius, make_model, min_norm_point, test_loss, train_loss
from latedecay.toy.settings import DRIFT, LATE_DECAY, LINEAR_LATE_DECAY, LINEAR_MIXING, MINIBATCH, N1

TITLES = {"linear": r"linear $w^\top x$", "diagonal": r"diagonal $(w^{\odot 3})^\top x$", "reparam": r"reparam. $\|w\|^\gamma w^\top x$"}


def _grid(limit, points):
    a = np.linspace(-limit, limit, points)
    W1, W2 = np.meshgrid(a, a)
    return W1, W2, np.stack([W1, W2], axis=-1)


def _log_mesh(ax, W1, W2, Z, decades):
    """Log-coloured loss surface; zeros (the manifold) are clipped to the floor."""
    vmax = float(Z.max())
    vmin = vmax * 10.0 ** (-decades)
    m = ax.pcolormesh(W1, W2, np.clip(Z, vmin, vmax), norm=LogNorm(vmin, vmax), cmap="viridis", shading="auto", rasterized=True)
    ax.set_aspect("equal")
    return m


def _manifold(ax, model, W1, W2, W, X, y, **kw):
    """Training minima manifold {X beta(w) = y} as the zero level set (n = 1)."""
    g = model.beta(W) @ X[0] - y[0]
    return ax.contour(W1, W2, g, levels=[0.0], colors=kw.pop("colors", "white"), linewidths=kw.pop("linewidths", 1.5), **kw)


def fig3(w_star, x, gamma, limit, points, decades=6):
    """Training and testing landscapes of the three models (rows), Fig. 3."""
    X = np.asarray([x], dtype=float)
    w_star = np.asarray(w_star, dtype=float)
    W1, W2, W = _grid(limit, points)
    with style.context():
        fig = Figure(figsize=(12, 8), layout="constrained")
        axes = fig.subplots(2, 3)
        for j, name in enumerate(MODEL_NAMES):
            model = make_model(name, gamma)
            y = X @ model.beta(w_star)
            w_mn = min_norm_point(model, X, y)
            surfaces = [("training", train_loss(model, W, X, y)), ("testing", test_loss(model, W, w_star))]
            for i, (kind, Z) in enumerate(surfaces):
                ax = axes[i, j]
                mesh = _log_mesh(ax, W1, W2, Z, decades)
                _manifold(ax, model, W1, W2, W, X, y)
                ax.plot(*w_star, "r*", ms=14, mec="k", label="test minimum $w^*$")
                ax.plot(*w_mn, "o", color="orange", ms=9, mec="k", label="min-norm point of manifold")
                if name == "diagonal":
                    alt = model.beta_inv(np.linalg.pinv(X) @ y)
                    ax.plot(*alt, "^", color="cyan", ms=8, mec="k", label=r"$\beta^{-1}(X^+y)$")
                ax.set_title(f"{TITLES[name]}: {kind} loss")
                ax.set_xlabel("$w_1$")
                ax.set_ylabel("$w_2$")
                fig.colorbar(mesh, ax=ax, shrink=0.8)
                ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        fig.suptitle(f"d = 2, n = 1, w* = {list(map(float, w_star))}, x = {list(map(float, x))}, gamma = {gamma:g}; white: training minima manifold")
    return fig


def fig4(data, phase1_factor, decades=5):
    """Phase I and Phase II on a simulated reparam trajectory in d = 2 (Fig. 4)."""
    s = load_settings(data)
    model = make_model(s["model"], s.get("gamma", 2.0))
    X, y = data["X"], data["y"]
    path = data["rec_w"][:, 0, 0, :]
    gf = data["gf_path"]
    train = data["rec_train"][:, 0, 0]
    k1 = int(np.searchsorted(data["steps"], analysis.phase1_step(data["steps"], train, phase1_factor)))
    pts = np.concatenate([path, gf, data["w_mn"][None]])
    limit = 1.15 * float(np.abs(pts).max())
    W1, W2, W = _grid(limit, 401)
    with style.context():
        fig = Figure(figsize=(7, 7), layout="constrained")
        ax = fig.subplots()
        mesh = _log_mesh(ax, W1, W2, train_loss(model, W, X, y), decades)
        mesh.set_alpha(0.6)
        fig.colorbar(mesh, ax=ax, shrink=0.7, label="training loss")
        _manifold(ax, model, W1, W2, W, X, y, colors="k", linewidths=2)
        ax.plot(*gf.T, "w--", lw=2, label="gradient flow from $w(0)$")
        ax.plot(*path[: k1 + 1].T, color="tab:red", lw=1.2, label=f"SGD Phase I ({int(data['steps'][k1])} steps)")
        thin = max(1, (len(path) - k1) // 3000)  # keep the PDF light
        ax.plot(*path[k1::thin].T, color="tab:orange", lw=0.6, alpha=0.9, label="SGD Phase II (drift along manifold)")
        ax.plot(*path[0], "ks", ms=8, label="$w(0)$")
        ax.plot(*path[-1], "o", color="tab:orange", mec="k", ms=8, label="SGD end")
        ax.plot(*data["w_mn"], "o", color="white", mec="k", ms=8, label="min-norm point")
        r_flat = flattest_radius(model, X, y)
        t = np.linspace(0, 2 * np.pi, 400)
        ax.plot(r_flat * np.cos(t), r_flat * np.sin(t), ":", color="0.3", lw=1, label="flattest radius on manifold")
        _normal_tangent(ax, model, X, path[k1], 0.15 * limit)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax.legend(loc="lower left", fontsize=8, framealpha=0.85)
        noise = f", $\\sigma$ {s['sigma']:g}" if "sigma" in s else ""
        ax.set_title(f"reparam. model, {s['simulator']} SGD, lr {s['lr'][0]:g}{noise}")
    return fig


def _normal_tangent(ax, model, X, p, length):
    """Arrows of the normal (gradient of X beta) and tangent space at p."""
    normal = model.vjp(p, X[0])
    normal = normal / np.linalg.norm(normal)
    tangent = np.array([-normal[1], normal[0]])
    for v, c, lab in [(normal, "tab:blue", "normal space"), (tangent, "tab:green", "tangent space")]:
        ax.annotate("", xy=p + length * v, xytext=p, arrowprops=dict(arrowstyle="->", color=c, lw=2))
        ax.plot([], [], color=c, lw=2, label=lab)


def theory(data, phase1_factor, phase2_tol, floor):
    """Six panels: linear mixing, linear late decay, drift, Phase-II time, late decay, contrasts."""
    with style.context():
        fig = Figure(figsize=(16, 9.5), layout="constrained")
        axes = fig.subplots(2, 3)
        _panel_linear_mixing(axes[0, 0], data, floor)
        _panel_late(axes[0, 1], data[LINEAR_LATE_DECAY], analysis.linear_limit_test_loss(data[LINEAR_LATE_DECAY]),
                    "interpolator GD reaches from $w(0)$", "1. linear: final test loss vs $T_1$")
        _panel_drift(axes[0, 2], data[DRIFT])
        _panel_phase2(axes[1, 0], data[DRIFT], phase1_factor, phase2_tol)
        _panel_late(axes[1, 1], data[LATE_DECAY], float(data[LATE_DECAY]["mn_test"]),
                    "closed-form min-norm value", "3. reparam. late decay: final test loss vs $T_1$")
        _panel_contrast(axes[1, 2], data)
    return fig


def _panel_linear_mixing(ax, data, floor):
    for name, c in zip(LINEAR_MIXING, ["tab:blue", "tab:green", "tab:red"]):
        d = data[name]
        s = load_settings(d)
        gap = d["rec_coupled_gap"][:, 0, :].mean(axis=-1)
        rate = analysis.mixing_rate(d["steps"], gap, floor)
        drift = float(d["rec_orth_drift"].max())
        ax.semilogy(d["steps"], gap, color=c, label=f"{s['simulator']}: rate {rate:.3g}/step, max orth. drift {drift:.1e}")
        if s["simulator"] != "minibatch":
            th = analysis.linear_contraction_rate(d["X"], s["lr"][0], s.get("sde_substeps", 1))
            ax.semilogy(d["steps"], gap[0] * np.exp(-th * d["steps"]), ":", color=c, lw=2)
    ax.set_ylim(bottom=1e-17)
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\|P_X(w_a - w_b)\|$ (coupled starts)")
    ax.set_title("1. linear: column-space part forgets its start\n(dotted: full-batch contraction rate)")
    ax.legend(fontsize=7)


def _panel_late(ax, d, ref, ref_label, title):
    rows = analysis.final_by_group(d)
    t1 = np.array([r[0] for r in rows])
    m = np.array([r[1] for r in rows])
    sd = np.array([r[2] for r in rows])
    s = load_settings(d)
    ax.errorbar(t1, m, yerr=sd / np.sqrt(s["chains"]), fmt="o-", capsize=3,
                label=f"lr {s['lr'][0]:g} for $T_1$, then x{s['decay_factor']:g} for {s['steps_after_decay']} steps")
    ax.axhline(ref, color="k", ls="--", label=ref_label)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel("$T_1$ (steps at the large lr)")
    ax.set_ylabel("final test loss (mean over chains)")
    ax.set_title(title)
    ax.legend(fontsize=7)


def _panel_drift(ax, d):
    for g in analysis.groups(d):
        lr = analysis.group_value(d, "chain_lr", g)
        ax.plot(d["steps"][1:], analysis.norm_ratio(d, g)[1:], label=f"lr {lr:g}")
    ax.axhline(1.0, color="k", ls="--", label=r"$\|w_{mn}\|$")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\|w\| / \|w_{mn}\|$ (mean over chains)")
    ax.set_title("2. reparam., label-noise SGD: drift to the min-norm point")
    ax.legend(fontsize=7)


def _panel_phase2(ax, d, phase1_factor, phase2_tol):
    table = analysis.drift_table(d, phase1_factor, phase2_tol)
    ok = [t for t in table if t["phase2_steps"]]
    lr = np.array([t["lr"] for t in ok])
    t2 = np.array([t["phase2_steps"] for t in ok], dtype=float)
    ax.loglog(lr, t2, "o", ms=8, label=f"Phase II: mean $\\|w\\|/\\|w_{{mn}}\\| - 1 \\leq {phase2_tol:g}$")
    t1 = [(t["lr"], t["phase1_steps"]) for t in table if t["phase1_steps"]]
    ax.loglog(*np.array(t1).T, "s", label=f"Phase I: train loss $\\leq {phase1_factor:g}\\times$ stationary")
    if len(ok) >= 2:
        p = analysis.power_law_exponent(lr, t2)
        fit = np.exp(np.polyfit(np.log(lr), np.log(t2), 1)[1]) * lr**p
        ax.loglog(lr, fit, "-", label=f"fit: steps $\\propto$ lr$^{{{p:.2f}}}$")
        ax.loglog(lr, t2[0] * (lr / lr[0]) ** -2.0, ":", color="k", label="lr$^{-2}$")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("steps")
    ax.set_title("2. Phase I and Phase II times against lr")
    ax.legend(fontsize=7)


def _panel_contrast(ax, data):
    mb, drift, n1 = data[MINIBATCH], data[DRIFT], data[N1]
    lr_mb = load_settings(mb)["lr"][0]
    ax.plot(mb["steps"][1:], analysis.norm_ratio(mb, 0)[1:], color="tab:green", label=f"plain mini-batch SGD, lr {lr_mb:g}: stops")
    g = [g for g in analysis.groups(drift) if np.isclose(analysis.group_value(drift, "chain_lr", g), lr_mb)]
    if g:
        ax.plot(drift["steps"][1:], analysis.norm_ratio(drift, g[0])[1:], color="tab:blue", label=f"label-noise SGD, lr {lr_mb:g}: drifts")
    ax.plot(n1["steps"][1:], analysis.norm_ratio(n1, 0)[1:], color="tab:purple", label="label noise, $n=1$ (Fig. 3 setting)")
    s = load_settings(n1)
    flat = flattest_radius(make_model("reparam", s["gamma"]), n1["X"], n1["y"]) / np.linalg.norm(n1["w_mn"])
    ax.axhline(flat, color="tab:purple", ls=":", label=f"$n=1$ flattest radius ({flat:.3f})")
    ax.axhline(1.0, color="k", ls="--", label="min-norm point")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\|w\| / \|w_{mn}\|$ (mean over chains)")
    ax.set_title("4. contrasts: no drift without label noise;\n$n=1$ drifts to the flattest point, not min-norm")
    ax.legend(fontsize=7)
