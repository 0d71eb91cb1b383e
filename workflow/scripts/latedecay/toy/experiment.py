"""One toy simulation experiment: problem, chain groups, run, recorded metrics.

Chains are grouped by (learning rate, decay step): every combination of
``lr`` and ``decay_steps`` gets ``chains`` chains, all run in one vectorized
simulation. ``starts`` > 1 adds coupled copies of every chain that start
elsewhere but see the same noise.
"""

import json

import numpy as np

from .models import make_model, min_norm_point, test_loss, train_loss
from .settings import dims
from .simulate import LRSchedule, Noise, Recording, simulate


def _unit(v):
    return v / np.linalg.norm(v)


def build_problem(s):
    """Data X (n, d), teacher w*, labels y = X beta(w*), starts w0 (S, d)."""
    model = make_model(s["model"], s.get("gamma", 2.0))
    n, d = dims(s)
    rng = np.random.default_rng(s["data_seed"])
    X = rng.standard_normal((n, d))
    if s.get("inputs") is not None:
        X = np.asarray(s["inputs"], dtype=float)
    w_star = _unit(rng.standard_normal(d)) * s.get("teacher_norm", 1.0)
    if s.get("teacher") is not None:
        w_star = np.asarray(s["teacher"], dtype=float)
    starts = np.stack([_unit(rng.standard_normal(d)) for _ in range(s["starts"])])
    starts *= s.get("init_norm", 1.0)
    if s.get("init") is not None:
        starts[0] = np.asarray(s["init"], dtype=float)
    y = X @ model.beta(w_star)
    return model, X, y, w_star, starts


def chain_groups(s):
    """Per-chain lr, decay step, end step and group index (all shape (K,))."""
    decays = list(s["decay_steps"]) or [None]
    groups = [(lr, dec) for dec in decays for lr in s["lr"]]
    lr = np.repeat([g[0] for g in groups], s["chains"]).astype(float)
    dec = np.repeat([np.inf if g[1] is None else g[1] for g in groups], s["chains"]).astype(float)
    hold = s.get("steps_after_decay")
    end = dec + hold if hold is not None else np.full_like(dec, np.inf)
    group = np.repeat(np.arange(len(groups)), s["chains"])
    return lr, dec, end, group


def sgd_noise(s):
    """The experiment's SGD noise (Noise) from its merged settings."""
    return Noise(
        s["simulator"],
        sigma=s.get("sigma", 0.0),
        batch=s.get("batch"),
        substeps=s.get("sde_substeps", 1),
        seed=s["seed"],
    )


def _recorder(model, X, y, w_star, w0, keep_w):
    Q = np.linalg.qr(X.T)[0]  # orthonormal basis of the span of the samples

    def record(w):
        beta = model.beta(w)
        null = beta - (beta @ Q) @ Q.T
        dw = w - w0
        out = {
            "norm": np.linalg.norm(w, axis=-1),
            "train": train_loss(model, w, X, y),
            "test": test_loss(model, w, w_star),
            "null": np.linalg.norm(null, axis=-1),
            "orth_drift": np.max(np.abs(dw - (dw @ Q) @ Q.T), axis=-1),
        }
        if w.shape[0] > 1:  # coupled starts: column-space gap to start 0
            out["coupled_gap"] = np.linalg.norm((w[1:] - w[:1]) @ Q, axis=-1)
        if keep_w:
            out["w"] = w.copy()
        return out

    return record


def run(s):
    """Run the experiment; return a dict of arrays for an .npz file."""
    model, X, y, w_star, starts = build_problem(s)
    lr, dec, end, group = chain_groups(s)
    w0 = np.repeat(starts[:, None, :], len(lr), axis=1)
    schedule = LRSchedule(lr, decay_step=dec, end_step=end, decay_factor=s.get("decay_factor", 1.0))
    recording = Recording(_recorder(model, X, y, w_star, w0, s.get("record_w", False)), every=s["record_every"])
    w_final, steps, rec = simulate(model, X, y, w0, schedule, sgd_noise(s), s["steps"], recording)
    w_mn = min_norm_point(model, X, y)
    out = {
        "settings": np.array(json.dumps(s, sort_keys=True)),
        "X": X,
        "y": y,
        "w_star": w_star,
        "w0": starts,
        "w_mn": w_mn,
        "mn_test": np.array(test_loss(model, w_mn, w_star)),
        "w_final": w_final,
        "steps": steps,
        "chain_lr": lr,
        "chain_decay": dec,
        "chain_end": end,
        "chain_group": group,
    }
    out.update({f"rec_{k}": v for k, v in rec.items()})
    if s.get("gradient_flow_steps"):
        out["gf_path"] = gradient_flow(model, X, y, starts[0], s["gradient_flow_lr"], s["gradient_flow_steps"])
    return out


def gradient_flow(model, X, y, w0, dt, steps):
    """Gradient-flow path from w0 (noise-free GD with a small step), (steps+1, d)."""
    w0 = np.asarray(w0, dtype=float)[None, None, :]
    recording = Recording(lambda w: {"w": w[0, 0].copy()}, every=1)
    _, _, rec = simulate(model, X, y, w0, LRSchedule(dt), Noise("label_noise"), steps, recording)
    return rec["w"]


def load_settings(data):
    """The settings dict stored in an experiment's .npz data."""
    return json.loads(str(data["settings"]))
