"""Fig. 2 from grid and projection contents: trajectories, star, both colour scales; the
landscape config keys."""


import numpy as np
import pytest
import yaml

from conftest import REPO
from latedecay.config_checks import validate_config
from latedecay.plots import style
from latedecay.plots.fig2 import _levels, make_figure, trajectories

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def projection():
    paths = np.array(["main"] * 4 + ["sub10"] * 2 + ["sub20"] * 3)
    epochs = np.array([0, 10, 20, 30, 15, 20, 25, 30, 40])
    coords = np.column_stack([np.arange(9.0), -np.arange(9.0), np.zeros(9)])
    return {"coords": coords, "paths": paths, "epochs": epochs, "ratio": np.array([0.6, 0.2, 0.1])}


def grid():
    x1, x2 = np.linspace(-1, 10, 12), np.linspace(-10, 1, 9)
    loss = 0.1 + (x1[:, None] - 8) ** 2 + x2[None, :] ** 2
    return {"x1": x1, "x2": x2, "train_loss": loss, "test_loss": 2 * loss, "ratio": np.array([0.6, 0.2, 0.1]),
            "surface": np.array("curved"), "n_train": 100, "n_test": 50}  # fmt: skip


def test_subpaths_start_at_their_branch_point():
    paths = trajectories(projection())
    assert list(paths) == ["main", "sub10", "sub20"]
    c1, c2, last = paths["sub10"]
    np.testing.assert_array_equal(c1, [1, 4, 5])  # main-path snapshot at epoch 10, then its own
    np.testing.assert_array_equal(c2, [-1, -4, -5])
    assert last == 20 and paths["sub20"][2] == 40 and paths["main"][2] == 30


@pytest.mark.parametrize("log_scale", [False, True])
def test_figure_is_a_real_pdf_with_paper_axes(tmp_path, log_scale):
    with style.context():
        fig = make_figure(grid(), projection(), log_scale=log_scale, levels=12)
    left = fig.axes[0]
    assert left.get_xlabel().startswith("PC2 (20.0 %") and left.get_ylabel().startswith("PC1 (60.0 %")
    star = [ln for ln in left.lines if ln.get_marker() == "*"][0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (-8, 8)  # last point of sub20 (epoch 40)
    main = [ln for ln in left.lines if ln.get_label() == "main path"][0]
    assert main.get_color() == "tab:orange"
    assert {ln.get_linestyle() for ln in left.lines if ln.get_color() == "tab:blue"} == {"--"}
    style.save(fig, tmp_path / "fig2.pdf")
    assert (tmp_path / "fig2.pdf").read_bytes().startswith(b"%PDF")


def checked(override):
    """config.yaml with landscape keys replaced, validated as the workflow does (the
    rejections are in test_config.py's table)."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for key, value in override.items():
        cfg["landscape"][key] = value
    validate_config(cfg, SCHEMA)
    return cfg


def test_paper_defaults():
    land = checked({})["landscape"]
    assert land["components"] == 5 and land["surface"] == "curved" and land["subpaths"] == "all"
    assert land["grid"]["pc1"] == {"min": -20, "max": 21, "points": 42}
    assert land["grid"]["pc2"] == {"min": -15, "max": 15, "points": 31}


def test_colour_scale_caps_at_the_quantile():
    values = np.concatenate([np.linspace(0.4, 0.5, 90), np.full(10, 300.0)])
    levels, norm = _levels(values, 11, False, 0.8)
    assert norm is None and levels[0] == 0.4 and levels[-1] == pytest.approx(np.quantile(values, 0.8))
    levels, norm = _levels(values, 11, True, 1.0)
    assert levels[-1] == pytest.approx(300) and np.allclose(np.diff(np.log(levels)), np.log(300 / 0.4) / 10)
