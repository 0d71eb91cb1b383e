"""Fig. 2 from grid, projection and paths-table contents (``landscape.figure_data.fig2``, then
``plots.fig2.make_figure``): trajectories, star, colour scales, true against surface loss; the
landscape config keys."""

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO
from latedecay.config import validate_config
from latedecay.landscape.figure_data import fig2, trajectories
from latedecay.plots import style
from latedecay.plots.fig2 import color_levels, make_figure

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def projection():
    paths = np.array(["main"] * 4 + ["decay10"] * 2 + ["decay20"] * 3)
    epochs = np.array([0, 10, 20, 30, 15, 20, 25, 30, 40])
    coords = np.column_stack([np.arange(9.0), -np.arange(9.0), np.zeros(9)])
    return {
        "coords": coords,
        "paths": paths,
        "epochs": epochs,
        "ratio": np.array([0.6, 0.2, 0.1]),
        "pc3_fit": np.zeros(3),
    }


def paths_table():
    """paths.csv rows of projection()'s snapshots: the surface loss 0.1 above the true one."""
    proj = projection()
    one = pd.DataFrame(
        {
            "path": proj["paths"],
            "epoch": proj["epochs"],
            "pc1": proj["coords"][:, 0],
            "pc2": proj["coords"][:, 1],
            "distance": proj["epochs"] / 40,
            "residual": 0.0,
        }
    )
    true = 0.2 + 1 / (1 + proj["epochs"])
    return pd.concat(
        [
            one.assign(split=split, evaluated_at=where, loss=true * k + (where == "surface") * 0.1, acc=0.5)
            for split, k in (("train", 1), ("test", 2))
            for where in ("snapshot", "surface")
        ],
        ignore_index=True,
    )


def grid():
    x1, x2 = np.linspace(-1, 10, 12), np.linspace(-10, 1, 9)
    loss = 0.1 + (x1[:, None] - 8) ** 2 + x2[None, :] ** 2
    return {
        "x1": x1,
        "x2": x2,
        "train_loss": loss,
        "test_loss": 2 * loss,
        "ratio": np.array([0.6, 0.2, 0.1]),
        "surface": np.array("curved"),
        "n_train": 100,
        "n_test": 50,
    }


def test_subpaths_start_at_their_branch_point():
    paths = trajectories(projection())
    assert list(paths) == ["main", "decay10", "decay20"]
    c1, c2, last = paths["decay10"]
    np.testing.assert_array_equal(c1, [1, 4, 5])  # main-path snapshot at epoch 10, then its own
    np.testing.assert_array_equal(c2, [-1, -4, -5])
    assert last == 20 and paths["decay20"][2] == 40 and paths["main"][2] == 30


@pytest.mark.parametrize("color_scale", ["quantile", "linear", "log"])
def test_figure_is_a_real_pdf_with_paper_axes(tmp_path, color_scale):
    fig = make_figure(fig2(grid(), projection(), paths_table()), color_scale=color_scale, levels=12)
    left = fig.axes[0]
    assert left.get_xlabel().startswith("PC2 (20.0 %") and left.get_ylabel().startswith("PC1 (60.0 %")
    star = [ln for ln in left.lines if ln.get_marker() == "*"][0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (-8, 8)  # last point of decay20 (epoch 40)
    main = [ln for ln in left.lines if ln.get_label() == "main path"][0]
    assert main.get_color() == "tab:orange"
    subs = [ln for ln in left.lines if ln.get_color() == "tab:blue"]
    assert {ln.get_linestyle() for ln in subs} == {"--"} and {ln.get_marker() for ln in subs} == {"None"}
    # each subpath a dashed line through its snapshots in order, from its branch point
    np.testing.assert_array_equal(subs[0].get_ydata(), [1, 4, 5])  # PC1: main at epoch 10, then decay10's
    np.testing.assert_array_equal(subs[1].get_xdata(), [-2, -6, -7, -8])  # PC2: main at epoch 20, then decay20's
    style.save(fig, tmp_path / "fig2.pdf")
    assert (tmp_path / "fig2.pdf").read_bytes().startswith(b"%PDF")


def test_statistics_panels_show_true_beside_surface_loss():
    fig = make_figure(fig2(grid(), projection(), paths_table()))
    train, test, distance = [ax for ax in fig.axes if ax.get_xlabel() == "epoch"]
    assert "median |true − surface| = 0.1" in train.get_title() and "0.1" in test.get_title()
    # one line per path and evaluation point: 3 paths x (true, surface)
    colors = [ln.get_color() for ln in train.lines if len(ln.get_xdata())]
    assert colors.count("black") == 3 and colors.count("tab:purple") == 3
    main_true = [ln for ln in train.lines if ln.get_color() == "black" and len(ln.get_xdata()) == 4][0]
    np.testing.assert_array_equal(main_true.get_xdata(), [0, 10, 20, 30])
    np.testing.assert_allclose(main_true.get_ydata(), 0.2 + 1 / (1 + np.array([0, 10, 20, 30])))
    sub_true = [ln for ln in train.lines if ln.get_color() == "black" and len(ln.get_xdata()) == 3][0]
    np.testing.assert_array_equal(sub_true.get_xdata(), [10, 15, 20])  # decay10 from its branch point
    assert train.get_yscale() == "linear"  # losses within a decade
    assert "median 0.5, max 1" in distance.get_title()
    assert len([ln for ln in distance.lines if len(ln.get_xdata())]) == 3


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
    levels, norm, _ = color_levels(values, 11, "linear", 0.8)
    assert norm is None and levels[0] == 0.4 and levels[-1] == pytest.approx(np.quantile(values, 0.8))
    levels, norm, _ = color_levels(values, 11, "log", 1.0)
    assert levels[-1] == pytest.approx(300) and np.allclose(np.diff(np.log(levels)), np.log(300 / 0.4) / 10)
    levels, norm, ticks = color_levels(values, 11, "quantile", 1.0, power=1.0)
    np.testing.assert_allclose(levels, np.unique(np.quantile(values, np.linspace(0, 1, 11))))
    assert norm.Ncmap == 256 and list(norm.boundaries) == list(levels) and set(ticks) <= set(levels)


def valley_grid(corner_height):
    """The paper's 42 x 31 grid: a narrow valley (losses 0.27-0.45) along PC2 = 0 whose floor
    slopes gently along PC1, walls rising to ~3 and far-off corners at ``corner_height``."""
    x1, x2 = np.meshgrid(np.linspace(-20, 21, 42), np.linspace(-15, 15, 31), indexing="ij")
    loss = 0.27 + 0.15 * ((x1 - 1) / 21) ** 2 + 0.03 * x2**2
    return np.where(np.abs(x1) + np.abs(x2) > 27, corner_height, loss)


def levels_spanned(values, levels):
    return len(np.unique(np.digitize(values, levels[1:-1])))


def test_valley_spans_many_levels_with_the_default_scale():
    land = checked({})["landscape"]
    color = dict(
        n=land["levels"], scale=land["color_scale"], quantile=land["color_quantile"], power=land["quantile_power"]
    )
    for corners in (50.0, 5e4):
        loss = valley_grid(corners)
        valley = loss[loss <= 0.45]
        assert 0.08 < valley.size / loss.size < 0.15  # a narrow band of the grid
        levels, _, _ = color_levels(loss, **color)
        assert levels_spanned(valley, levels) >= 10, corners  # however high the corners
        # the authors' linear scale, even capped at the 0.8 quantile, gives it one or two
        linear, _, _ = color_levels(loss, land["levels"], "linear", 0.8)
        assert levels_spanned(valley, linear) <= 2
    # the valley's levels do not depend on how high the corners are
    np.testing.assert_array_equal(*(color_levels(valley_grid(h), **color)[0][:10] for h in (50.0, 5e4)))


def test_degenerate_grid_still_gets_two_levels():
    levels, _, _ = color_levels(np.full((3, 3), 0.5), 30)
    assert len(levels) == 2 and levels[0] == 0.5 and levels[1] > levels[0]


def test_loss_axis_is_logarithmic_when_the_surface_is_far_off():
    table = paths_table()
    far = table["evaluated_at"] == "surface"
    table.loc[far, "loss"] *= 100
    fig = make_figure(fig2(grid(), projection(), table))
    train = [ax for ax in fig.axes if ax.get_xlabel() == "epoch"][0]
    assert train.get_yscale() == "log"
