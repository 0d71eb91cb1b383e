"""Assemble the theory checks: the six-panel figure and the summary table."""

import csv

from latedecay.io import atomic_path

from . import analysis, figures
from .experiment import load_settings
from .models import make_model

COLUMNS = ["check", "experiment", "quantity", "value", "reference", "note"]
LINEAR_MIXING = ("linear_label_noise", "linear_minibatch", "linear_sde")


def _require(data, names):
    missing = [n for n in names if n not in data]
    if missing:
        raise KeyError(f"theory checks need the simulations {missing}; got {sorted(data)}")


def summary_rows(data, phase1_factor, phase2_tol, floor):
    _require(data, LINEAR_MIXING + ("linear_late_decay", "drift", "late_decay", "minibatch", "n1"))
    rows = []
    for name in LINEAR_MIXING:
        rows += analysis.linear_rows(name, data[name], floor)
    rows += analysis.linear_late_rows("linear_late_decay", data["linear_late_decay"])
    rows += analysis.drift_rows("drift", data["drift"], phase1_factor, phase2_tol)
    rows += analysis.late_rows("late_decay", data["late_decay"])
    gamma = load_settings(data["n1"])["gamma"]
    rows += analysis.contrast_rows(data["minibatch"], data["n1"], make_model("reparam", gamma))
    return rows


def theory_outputs(data, phase1_factor, phase2_tol, floor):
    rows = summary_rows(data, phase1_factor, phase2_tol, floor)
    return figures.theory(data, phase1_factor, phase2_tol, floor), rows


def save_csv(rows, path):
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if row[k] is None else row[k]) for k in COLUMNS})
