"""Fig. 2 from grid and projection contents: trajectories, star, both colour scales; the
landscape config keys."""

import copy

import numpy as np
import pytest
import yaml
from snakemake.utils import validate

from conftest import REPO
from latedecay.config_checks import ConfigError, check_config
from latedecay.plots import style
from latedecay.plots.fig2 import color_levels, make_figure, trajectories

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def projection():
    paths = np.array(["main"] * 4 + ["decay10"] * 2 + ["decay20"] * 3)
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
    assert list(paths) == ["main", "decay10", "decay20"]
    c1, c2, last = paths["decay10"]
    np.testing.assert_array_equal(c1, [1, 4, 5])  # main-path snapshot at epoch 10, then its own
    np.testing.assert_array_equal(c2, [-1, -4, -5])
    assert last == 20 and paths["decay20"][2] == 40 and paths["main"][2] == 30


@pytest.mark.parametrize("color_scale", ["quantile", "linear", "log"])
def test_figure_is_a_real_pdf_with_paper_axes(tmp_path, color_scale):
    with style.context():
        fig = make_figure(grid(), projection(), color_scale=color_scale, levels=12)
    left = fig.axes[0]
    assert left.get_xlabel().startswith("PC2 (20.0 %") and left.get_ylabel().startswith("PC1 (60.0 %")
    star = [ln for ln in left.lines if ln.get_marker() == "*"][0]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (-8, 8)  # last point of decay20 (epoch 40)
    main = [ln for ln in left.lines if ln.get_label() == "main path"][0]
    assert main.get_color() == "tab:orange"
    assert {ln.get_linestyle() for ln in left.lines if ln.get_color() == "tab:blue"} == {"--"}
    style.save(fig, tmp_path / "fig2.pdf")
    assert (tmp_path / "fig2.pdf").read_bytes().startswith(b"%PDF")


def checked(override):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for key, value in override.items():
        cfg["landscape"][key] = value
    validate(cfg, SCHEMA)
    check_config(cfg)
    return cfg


def test_paper_defaults():
    land = checked({})["landscape"]
    assert land["components"] == 5 and land["surface"] == "curved" and land["subpaths"] == "all"
    assert land["grid"]["pc1"] == {"min": -20, "max": 21, "points": 42}
    assert land["grid"]["pc2"] == {"min": -15, "max": 15, "points": 31}


BAD = [
    ({"subpaths": [2000, 2050]}, "landscape.subpaths[1]"),
    ({"surface": "flat", "components": 1}, "components"),
    ({"components": 2}, "landscape.components"),  # curved needs PC3
    ({"chunks": 2000}, "landscape.chunks"),
    ({"grid": {"extent": "fixed", "pc1": {"min": 1, "max": 1, "points": 4},
               "pc2": {"min": 0, "max": 1, "points": 4}}}, "landscape.grid.pc1.max"),  # fmt: skip
    ({"bn_stats": "running"}, "bn_stats"),
    ({"points_per_pass": 0}, "points_per_pass"),
    ({"subpaths": "some"}, "subpaths"),
    ({"typo": 1}, "typo"),
]


@pytest.mark.parametrize("override,key", BAD, ids=[k for _, k in BAD])
def test_bad_landscape_config_names_the_key(override, key):
    with pytest.raises(Exception) as err:
        checked(copy.deepcopy(override))
    assert key.split(".")[-1].split("[")[0] in str(err.value)
    if isinstance(err.value, ConfigError):
        assert f"'{key}'" in str(err.value)


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
    color = dict(n=land["levels"], scale=land["color_scale"], quantile=land["color_quantile"],
                 power=land["quantile_power"])  # fmt: skip
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
