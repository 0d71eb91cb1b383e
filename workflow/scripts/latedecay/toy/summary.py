"""The theory checks' summary table: results/toy/summary.csv (the figure: figure_data.theory, plots.toy.theory)."""

import math

import pandas as pd

from latedecay import io

from . import analysis
from .experiment import load_settings
from .models import make_model
from .settings import DRIFT, LATE_DECAY, LINEAR_LATE_DECAY, LINEAR_MIXING, MINIBATCH, N1, THEORY_INPUTS

COLUMNS = ["check", "experiment", "quantity", "value", "reference", "note"]


def _check_simulations(data, names):
    missing = [n for n in names if n not in data]
    if missing:
        raise KeyError(f"theory checks need the simulations {missing}; got {sorted(data)}")


def summary_rows(data, phase1_factor, phase2_tol, floor):
    _check_simulations(data, THEORY_INPUTS)
    rows = []
    for name in LINEAR_MIXING:
        rows += analysis.linear_rows(name, data[name], floor)
    rows += analysis.linear_late_rows(LINEAR_LATE_DECAY, data[LINEAR_LATE_DECAY])
    rows += analysis.drift_rows(DRIFT, data[DRIFT], phase1_factor, phase2_tol)
    rows += analysis.late_rows(LATE_DECAY, data[LATE_DECAY])
    gamma = load_settings(data[N1])["gamma"]
    rows += analysis.contrast_rows(data[MINIBATCH], data[N1], make_model("reparam", gamma))
    return rows


def table(rows):
    """The summary rows as a DataFrame with COLUMNS, values as given (object columns: ints
    stay ints). None (a quantity never reached) is written as an empty cell, NaN (no
    reference value) as "nan"."""
    frame = pd.DataFrame([[row[k] for k in COLUMNS] for row in rows], columns=COLUMNS, dtype=object)
    return frame.mask(frame.map(lambda v: isinstance(v, float) and math.isnan(v)), "nan")


def save_csv(rows, path):
    io.save_csv(table(rows), path)
