"""The numbers the toy figures show: loss surfaces, manifolds, paths, rates and fits.

Each figure's entry script computes them here and hands them to ``latedecay.plots.toy``,
which only draws.
"""

import numpy as np

from . import analysis
from .experiment import load_settings
from .models import MODEL_NAMES, flattest_radius, make_model, min_norm_point, test_loss, train_loss
from .settings import DRIFT, LATE_DECAY, LINEAR_LATE_DECAY, LINEAR_MIXING, MINIBATCH, N1


def grid(limit, points):
    a = np.linspace(-limit, limit, points)
    W1, W2 = np.meshgrid(a, a)
    return W1, W2, np.stack([W1, W2], axis=-1)


def manifold(model, W, X, y):
    """X beta(w) - y on the grid: the training minima manifold is its zero level set (n = 1)."""
    return model.beta(W) @ X[0] - y[0]


def fig3(w_star, x, gamma, limit, points):
    """Training and testing loss surfaces of the three models, d = 2 and n = 1 (Fig. 3)."""
    X = np.asarray([x], dtype=float)
    w_star = np.asarray(w_star, dtype=float)
    W1, W2, W = grid(limit, points)
    return {
        "W1": W1,
        "W2": W2,
        "w_star": w_star,
        "x": x,
        "gamma": gamma,
        "models": [_fig3_model(name, gamma, W, X, w_star) for name in MODEL_NAMES],
    }


def _fig3_model(name, gamma, W, X, w_star):
    model = make_model(name, gamma)
    y = X @ model.beta(w_star)
    # Diagonal model: beta^-1(X^+ y) is on the manifold but is not its min-norm point.
    alt = model.beta_inv(np.linalg.pinv(X) @ y) if name == "diagonal" else None
    surfaces = {"training": train_loss(model, W, X, y), "testing": test_loss(model, W, w_star)}
    return {
        "name": name,
        "surfaces": surfaces,
        "manifold": manifold(model, W, X, y),
        "w_mn": min_norm_point(model, X, y),
        "alt": alt,
    }


def fig4(data, phase1_factor):
    """Phase I's end, the training surface and the manifold around a recorded reparam path in d = 2 (Fig. 4)."""
    s = load_settings(data)
    model = make_model(s["model"], s.get("gamma", 2.0))
    X, y = data["X"], data["y"]
    path = data["rec_w"][:, 0, 0, :]
    train = data["rec_train"][:, 0, 0]
    k1 = int(np.searchsorted(data["steps"], analysis.phase1_step(data["steps"], train, phase1_factor)))
    pts = np.concatenate([path, data["gf_path"], data["w_mn"][None]])
    limit = 1.15 * float(np.abs(pts).max())
    W1, W2, W = grid(limit, 401)
    normal = model.vjp(path[k1], X[0])  # gradient of X beta at the end of Phase I
    normal = normal / np.linalg.norm(normal)
    return {
        "settings": s,
        "limit": limit,
        "W1": W1,
        "W2": W2,
        "train": train_loss(model, W, X, y),
        "manifold": manifold(model, W, X, y),
        "path": path,
        "gf": data["gf_path"],
        "w_mn": data["w_mn"],
        "k1": k1,
        "k1_step": int(data["steps"][k1]),
        "r_flat": flattest_radius(model, X, y),
        "normal": normal,
        "tangent": np.array([-normal[1], normal[0]]),
    }


def theory(data, phase1_factor, phase2_tol, floor):
    """The six theory panels: linear mixing, linear late decay, drift, Phase-II time, late decay, contrasts."""
    return {
        "linear_mixing": [_mixing(data[name], floor) for name in LINEAR_MIXING],
        "linear_late": _late(data[LINEAR_LATE_DECAY], analysis.linear_limit_test_loss(data[LINEAR_LATE_DECAY])),
        "drift": [
            {"lr": analysis.group_value(data[DRIFT], "chain_lr", g), **_norm_curve(data[DRIFT], g)}
            for g in analysis.groups(data[DRIFT])
        ],
        "phases": _phases(data[DRIFT], phase1_factor, phase2_tol),
        "late": _late(data[LATE_DECAY], float(data[LATE_DECAY]["mn_test"])),
        "contrast": _contrast(data),
    }


def _norm_curve(d, group):
    return {"steps": d["steps"], "ratio": analysis.norm_ratio(d, group)}


def _mixing(d, floor):
    s = load_settings(d)
    gap = d["rec_coupled_gap"][:, 0, :].mean(axis=-1)
    rate, drift = analysis.mixing_rate(d["steps"], gap, floor), float(d["rec_orth_drift"].max())
    curve = {"simulator": s["simulator"], "steps": d["steps"], "gap": gap, "rate": rate, "drift": drift, "theory": None}
    if s["simulator"] != "minibatch":  # full-batch contraction from the same start
        th = analysis.linear_contraction_rate(d["X"], s["lr"][0], s.get("sde_substeps", 1))
        curve["theory"] = gap[0] * np.exp(-th * d["steps"])
    return curve


def _late(d, ref):
    """Final test loss against T1: chain mean and its standard error per decay step."""
    rows = analysis.final_by_group(d)
    s = load_settings(d)
    sd = np.array([r[2] for r in rows])
    return {
        "settings": s,
        "t1": np.array([r[0] for r in rows]),
        "mean": np.array([r[1] for r in rows]),
        "sem": sd / np.sqrt(s["chains"]),
        "ref": ref,
    }


def _phases(d, phase1_factor, phase2_tol):
    """Phase-I and Phase-II steps against lr; with two Phase-II times, the power-law fit and an lr^-2 line."""
    table = analysis.drift_table(d, phase1_factor, phase2_tol)
    ok = [t for t in table if t["phase2_steps"]]
    lr = np.array([t["lr"] for t in ok])
    t2 = np.array([t["phase2_steps"] for t in ok], dtype=float)
    phase1 = np.array([(t["lr"], t["phase1_steps"]) for t in table if t["phase1_steps"]])
    out = {
        "phase1_factor": phase1_factor,
        "phase2_tol": phase2_tol,
        "lr": lr,
        "phase2_steps": t2,
        "phase1": phase1,
        "fit": None,
    }
    if len(ok) >= 2:
        p = analysis.power_law_exponent(lr, t2)
        fit = np.exp(np.polyfit(np.log(lr), np.log(t2), 1)[1]) * lr**p
        out["fit"] = {"exponent": p, "steps": fit, "inverse_square": t2[0] * (lr / lr[0]) ** -2.0}
    return out


def _contrast(data):
    mb, drift, n1 = data[MINIBATCH], data[DRIFT], data[N1]
    lr_mb = load_settings(mb)["lr"][0]
    g = [g for g in analysis.groups(drift) if np.isclose(analysis.group_value(drift, "chain_lr", g), lr_mb)]
    s = load_settings(n1)
    flat = flattest_radius(make_model("reparam", s["gamma"]), n1["X"], n1["y"]) / np.linalg.norm(n1["w_mn"])
    drift_at_lr = _norm_curve(drift, g[0]) if g else None  # label noise at the mini-batch lr
    return {
        "lr": lr_mb,
        "minibatch": _norm_curve(mb, 0),
        "drift": drift_at_lr,
        "n1": _norm_curve(n1, 0),
        "n1_flat": flat,
    }
