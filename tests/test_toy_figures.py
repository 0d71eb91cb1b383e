"""Toy figures and summary from small real simulations: PDFs a user would open."""

import csv

import pytest
import yaml

from conftest import REPO
from latedecay.io import load_npz, save_npz
from latedecay.plots import style
from latedecay.plots import toy as figures
from latedecay.toy import experiment, figure_data, settings, summary

SMALL = {
    "linear_label_noise": {"steps": 400},
    "linear_minibatch": {"steps": 400},
    "linear_sde": {"steps": 400},
    "linear_late_decay": {"decay_steps": [0, 300, 600], "steps_after_decay": 300, "steps": 900, "record_every": 100},
    "drift": {"lr": [0.1, 0.07], "steps": 3000, "record_every": 100},
    "late_decay": {"decay_steps": [0, 300, 600], "steps_after_decay": 300, "steps": 900, "record_every": 100},
    "minibatch": {"steps": 1000},
    "n1": {"steps": 2000},
    "fig4": {"steps": 2000, "gradient_flow_steps": 200},
}


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    toy = yaml.safe_load((REPO / "config.yaml").read_text())["toy"]
    toy["sgd"].update({"d": 12, "n": 6, "chains": 4})
    out = {}
    for name in settings.ROLES:  # every toy experiment
        toy["experiments"][name].update(SMALL[name])
        path = tmp_path_factory.mktemp("sim") / f"{name}.npz"
        save_npz(path, **experiment.run(settings.effective(toy, name)))
        out[name] = load_npz(path)  # round trip through the file format the rules use
    return out


def assert_pdf(path, min_bytes=10_000):
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > min_bytes


def test_fig3_pdf(tmp_path):
    fig = figures.fig3(figure_data.fig3([-1.0, 0.5], [0.15, -0.7], 2.0, 2.0, 41))
    assert len([ax for ax in fig.axes if ax.get_title()]) == 6
    style.save(fig, tmp_path / "fig3.pdf")
    assert_pdf(tmp_path / "fig3.pdf")


def test_fig4_pdf(sims, tmp_path):
    fig = figures.fig4(figure_data.fig4(sims["fig4"], 2.0))
    style.save(fig, tmp_path / "fig4.pdf")
    assert_pdf(tmp_path / "fig4.pdf")


def test_theory_pdf_and_summary_csv(sims, tmp_path):
    rows = summary.summary_rows(sims, 2.0, 0.02, 1e-10)
    style.save(figures.theory(figure_data.theory(sims, 2.0, 0.02, 1e-10)), tmp_path / "toy_theory.pdf")
    assert_pdf(tmp_path / "toy_theory.pdf")
    summary.save_csv(rows, tmp_path / "summary.csv")
    with open(tmp_path / "summary.csv") as fh:
        table = list(csv.DictReader(fh))
    assert {r["check"] for r in table} == {"1 linear", "2 drift", "3 late decay", "4 contrast"}
    drift = {r["quantity"]: float(r["value"]) for r in table if r["quantity"].startswith("max_orthogonal_drift")}
    assert max(drift.values()) < 1e-12
    late = [float(r["value"]) for r in table if r["experiment"] == "late_decay"]
    assert late[0] > late[-1]  # longer at the large lr: lower final test loss


def test_theory_checks_name_missing_simulations(sims):
    partial = {k: v for k, v in sims.items() if k != "drift"}
    with pytest.raises(KeyError, match="drift"):
        summary.summary_rows(partial, 2.0, 0.02, 1e-10)


def test_summary_csv_cells(tmp_path):
    row = {"check": "2 drift", "experiment": settings.DRIFT, "note": "a, b"}
    rows = [
        {**row, "quantity": "phase2_steps", "value": None, "reference": float("nan")},
        {**row, "quantity": "phase1_steps", "value": 1200, "reference": 0.1},
    ]
    summary.save_csv(rows, tmp_path / "summary.csv")
    assert (tmp_path / "summary.csv").read_text().splitlines() == [
        ",".join(summary.COLUMNS),
        '2 drift,drift,phase2_steps,,nan,"a, b"',
        '2 drift,drift,phase1_steps,1200,0.1,"a, b"',
    ]
    summary.save_csv([], tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text() == ",".join(summary.COLUMNS) + "\n"
