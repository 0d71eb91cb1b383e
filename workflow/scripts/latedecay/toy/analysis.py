"""Numbers of the theory checks, computed from the experiments' .npz data."""

import numpy as np

from .experiment import load_settings
from .settings import MINIBATCH, N1


def first_step_below(steps, values, tol):
    """First recorded step with values <= tol (None if never)."""
    hit = np.nonzero(np.asarray(values) <= tol)[0]
    return int(steps[hit[0]]) if hit.size else None


def group_mean(data, key, group, start=0):
    """Chain mean of recorded metric ``rec_<key>`` for one chain group, per record."""
    sel = data["chain_group"] == group
    return data[f"rec_{key}"][:, start, sel].mean(axis=-1)


def norm_ratio(data, group):
    return group_mean(data, "norm", group) / np.linalg.norm(data["w_mn"])


def groups(data):
    return np.unique(data["chain_group"])


def group_value(data, name, group):
    return float(data[name][data["chain_group"] == group][0])


def power_law_exponent(x, t):
    """Least-squares slope p of log t = p log x + c."""
    return float(np.polyfit(np.log(x), np.log(t), 1)[0])


def mixing_rate(steps, gap, floor):
    """Fitted exponential rate of a decaying coupled gap, per SGD step.

    Fits log(gap) against the step over the records where the gap is still
    above ``floor`` times its start (below that it is round-off).
    """
    gap = np.asarray(gap, dtype=float)
    keep = gap > floor * gap[0]
    if keep.sum() < 3:
        raise ValueError("fewer than 3 records above the round-off floor; record more often")
    return float(-np.polyfit(steps[keep], np.log(gap[keep]), 1)[0])


def linear_contraction_rate(X, lr, substeps=1):
    """Theoretical rate of full-batch linear SGD on the span of the samples.

    The coupled difference obeys delta <- (I - (lr/m) X^T X / n)^m delta, so
    the slowest decay is -m log max_i |1 - (lr/m) lambda_i| over the nonzero
    eigenvalues lambda_i of X^T X / n.
    """
    n = X.shape[0]
    lam = np.linalg.eigvalsh(X @ X.T / n)
    lam = lam[lam > 1e-12 * lam.max()]
    return float(-substeps * np.log(np.max(np.abs(1.0 - lr / substeps * lam))))


def linear_limit_test_loss(data, start=0):
    """Test loss of the linear interpolator GD reaches from w0: X^+ y + P_perp w0."""
    X, w0, w_star = data["X"], data["w0"][start], data["w_star"]
    Q = np.linalg.qr(X.T)[0]
    w = np.linalg.pinv(X) @ data["y"] + (w0 - Q @ (Q.T @ w0))
    return float(0.5 * np.sum((w - w_star) ** 2))


def final_by_group(data, key="test"):
    """Per group: (decay step, mean and std over chains of the final metric)."""
    rows = []
    for g in groups(data):
        sel = data["chain_group"] == g
        # A chain's state is frozen after its end step, so the last record is final.
        v = data[f"rec_{key}"][-1, 0, sel]
        rows.append((group_value(data, "chain_decay", g), float(v.mean()), float(v.std())))
    return rows


def tail_mean(values, frac=0.1):
    """Mean over the last ``frac`` of the records (the stationary end)."""
    k = max(1, int(len(values) * frac))
    return float(np.mean(values[-k:]))


def _row(check, experiment, quantity, value, reference=np.nan, note=""):
    return {
        "check": check,
        "experiment": experiment,
        "quantity": quantity,
        "value": value,
        "reference": reference,
        "note": note,
    }


def linear_rows(name, data, floor):
    s = load_settings(data)
    rows = [
        _row(
            "1 linear",
            name,
            "max_orthogonal_drift",
            float(data["rec_orth_drift"].max()),
            0.0,
            "max |P_perp (w(t) - w(0))| over chains, starts, records",
        )
    ]
    steps, gap = data["steps"], data["rec_coupled_gap"][:, 0, :].mean(axis=-1)
    theory = np.nan
    if s["simulator"] != "minibatch":
        theory = linear_contraction_rate(data["X"], s["lr"][0], s.get("sde_substeps", 1))
    rows.append(
        _row(
            "1 linear",
            name,
            "mixing_rate_per_step",
            mixing_rate(steps, gap, floor),
            theory,
            "coupled starts, same noise; reference: full-batch contraction",
        )
    )
    return rows


def linear_late_rows(name, data):
    ref = linear_limit_test_loss(data)
    rows = [
        _row("1 linear", name, f"final_test_T1={int(t1)}", m, ref, f"std over chains {sd:.2e}")
        for t1, m, sd in final_by_group(data)
    ]
    finals = [m for _, m, _ in final_by_group(data)]
    rows.append(
        _row(
            "1 linear",
            name,
            "final_test_spread_over_T1",
            float(np.ptp(finals)),
            0.0,
            "max - min over T1 of the chain-mean final test loss",
        )
    )
    return rows


def phase1_step(steps, train, factor):
    """First step at which the training loss is within ``factor`` of its
    stationary (last 10 %) level: the chain has entered the manifold's
    noise-sized neighbourhood."""
    return first_step_below(steps, train, factor * tail_mean(train))


def drift_table(data, phase1_factor, phase2_tol):
    """Per learning rate: Phase-I steps, Phase-II steps, end gaps."""
    table = []
    for g in groups(data):
        steps = data["steps"]
        ratio = norm_ratio(data, g)
        test = group_mean(data, "test", g)
        table.append(
            {
                "lr": group_value(data, "chain_lr", g),
                "phase1_steps": phase1_step(steps, group_mean(data, "train", g), phase1_factor),
                "phase2_steps": first_step_below(steps, ratio - 1.0, phase2_tol),
                "end_ratio_gap": tail_mean(ratio) - 1.0,
                "end_test_gap": tail_mean(test) - float(data["mn_test"]),
            }
        )
    return table


def drift_rows(name, data, phase1_factor, phase2_tol):
    rows, table = [], drift_table(data, phase1_factor, phase2_tol)
    for t in table:
        lr = t["lr"]
        rows += [
            _row(
                "2 drift",
                name,
                f"phase1_steps_lr={lr:g}",
                t["phase1_steps"],
                np.nan,
                f"mean train loss <= {phase1_factor:g} x its stationary level",
            ),
            _row(
                "2 drift",
                name,
                f"phase2_steps_lr={lr:g}",
                t["phase2_steps"],
                np.nan,
                f"mean |w|/|w_mn| - 1 <= {phase2_tol:g}",
            ),
            _row("2 drift", name, f"end_norm_ratio_gap_lr={lr:g}", t["end_ratio_gap"], 0.0, "last 10% of records"),
            _row(
                "2 drift", name, f"end_test_gap_lr={lr:g}", t["end_test_gap"], 0.0, "test - closed-form min-norm value"
            ),
        ]
    ok = [t for t in table if t["phase2_steps"]]
    if len(ok) >= 2:
        p = power_law_exponent([t["lr"] for t in ok], [t["phase2_steps"] for t in ok])
        rows.append(_row("2 drift", name, "phase2_exponent", p, -2.0, "fit phase2_steps ~ lr^p"))
    rows.append(
        _row("2 drift", name, "min_norm_test_loss", float(data["mn_test"]), np.nan, "1/2 |(I - P_X) beta(w*)|^2")
    )
    return rows


def late_rows(name, data):
    mn = float(data["mn_test"])
    return [
        _row("3 late decay", name, f"final_test_T1={int(t1)}", m, mn, f"std over chains {sd:.2e}")
        for t1, m, sd in final_by_group(data)
    ]


def contrast_rows(minibatch, n1, model_n1):
    from .models import flattest_radius

    ratio_mb = norm_ratio(minibatch, 0)
    rows = [
        _row(
            "4 contrast",
            MINIBATCH,
            "final_train_loss",
            float(group_mean(minibatch, "train", 0)[-1]),
            0.0,
            "plain SGD reaches the manifold",
        ),
        _row(
            "4 contrast",
            MINIBATCH,
            "norm_ratio_drift_after_phase1",
            float(np.ptp(ratio_mb[len(ratio_mb) // 10 :])),
            0.0,
            "max - min of |w|/|w_mn| over the last 90% of the run",
        ),
        _row("4 contrast", MINIBATCH, "end_norm_ratio", float(ratio_mb[-1]), 1.0, "stays where Phase I landed"),
    ]
    flat = flattest_radius(model_n1, n1["X"], n1["y"]) / np.linalg.norm(n1["w_mn"])
    rows.append(
        _row(
            "4 contrast",
            N1,
            "end_norm_ratio",
            tail_mean(norm_ratio(n1, 0)),
            flat,
            "reference: flattest radius / |w_mn| (not 1: min-norm point is not flattest)",
        )
    )
    return rows
