"""The landscape rules end to end on synthetic snapshots (tiny preset), their rerun
behaviour, and the numbers in grid.npz and paths.csv against an independent evaluation."""

import csv
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch.nn.utils import parameters_to_vector

from conftest import REPO, run_snakemake
from dag import planned_jobs
from latedecay.io import load_npz, load_torch, save_torch
from latedecay.landscape import reference
from latedecay.landscape.jobs import image_subset
from latedecay.landscape.settings import LandscapeSettings
from latedecay.nn.models import build_model

RULES = ["landscape_pca", "landscape_chunk", "landscape_paths", "landscape_merge", "fig2"]
TARGETS = ["figures/fig2.pdf", "results/landscape/summary.csv"]
PRESET = REPO / "presets" / "tiny.yaml"


def test_settings_params_are_key_sorted_round_trip_and_hold_no_grid():
    params = LandscapeSettings.from_config(yaml.safe_load((REPO / "config.yaml").read_text()))
    settings = LandscapeSettings.from_params(params)
    assert asdict(settings) == params and settings.evaluation.loss == "mse" and settings.images.seed == 0
    assert key_sorted(params)  # at every level: Snakemake compares params by their repr
    assert not {"grid", "chunks"} & set(params)  # a new grid must not rerun the paths job


def key_sorted(value):
    return not isinstance(value, dict) or (list(value) == sorted(value) and all(map(key_sorted, value.values())))


def synthetic_inputs(root):
    """Data and snapshot files laid out as the tiny preset's training jobs write them."""
    g = torch.Generator().manual_seed(0)
    for name, n in (("train", 100), ("eval", 500)):
        images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
        save_torch(
            {"images": images, "labels": torch.arange(n) % 10, "indices": torch.arange(n), "split": name},
            root / f"results/data/{name}.pt",
        )
    torch.manual_seed(7)
    theta0 = parameters_to_vector(build_model("vgg_small").parameters()).detach()
    u = torch.randn(3, theta0.numel(), generator=g) * 0.02

    def at(epoch, decay=None):
        t = epoch if decay is None else decay + 0.3 * (epoch - decay)
        noise = torch.randn(theta0.numel(), generator=g) * 0.002  # SGD noise: every snapshot adds a direction
        return theta0 + t * u[0] + np.sin(t) * u[1] + (0 if decay is None else (epoch - decay) * u[2]) + noise

    def write(path, epochs, decay=None):
        params = torch.stack([at(e if decay is None else decay + e, decay) for e in epochs]).float()
        save_torch(
            {
                "epochs": torch.tensor(epochs),
                "params": params,
                "path": "main" if decay is None else f"decay{decay}",
                "decay_epoch": decay,
            },
            root / path,
        )

    write("results/seed7/main/epoch0/snapshots.pt", [0])
    write("results/seed7/main/epoch2/snapshots.pt", [1, 2])
    write("results/seed7/main/epoch4/snapshots.pt", [3, 4])
    write("results/seed7/main/epoch6/snapshots.pt", [5, 6])
    write("results/seed7/sub/decay2/snapshots.pt", [1, 2], decay=2)
    write("results/seed7/sub/decay4/snapshots.pt", [1, 2], decay=4)


def overlay(root, override):
    path = root / "override.yaml"
    path.write_text(yaml.safe_dump(override))
    return path


def job_counts(root, override=None):
    extra = ["--configfile", PRESET] + ([overlay(root, override)] if override else [])
    return planned_jobs(*TARGETS, "--directory", root, *extra, "--allowed-rules", *RULES)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("landscape")
    synthetic_inputs(root)
    run_snakemake(*TARGETS, "-c2", "--directory", root, "--configfile", PRESET, "--allowed-rules", *RULES)
    return root


def test_figure_grid_and_summary(tiny_run):
    assert (tiny_run / "figures/fig2.pdf").read_bytes().startswith(b"%PDF")
    grid = load_npz(tiny_run / "results/landscape/grid.npz")
    assert grid["train_loss"].shape == (5, 4) and np.isfinite(grid["test_loss"]).all()
    assert str(grid["surface"]) == "curved" and str(grid["bn_stats"]) == "none"
    assert int(grid["n_train"]) == 100 and int(grid["n_test"]) == 100
    projection = load_npz(tiny_run / "results/landscape/projection.npz")
    assert projection["paths"].tolist() == ["main"] * 7 + ["decay2"] * 2 + ["decay4"] * 2
    assert projection["epochs"].tolist() == [0, 1, 2, 3, 4, 5, 6, 3, 4, 5, 6]
    c = projection["coords"]  # the auto grid covers every trajectory
    assert grid["x1"][0] < c[:, 0].min() and c[:, 0].max() < grid["x1"][-1]
    assert grid["x2"][0] < c[:, 1].min() and c[:, 1].max() < grid["x2"][-1]
    rows = dict(csv.reader((tiny_run / "results/landscape/summary.csv").open()))
    assert float(rows["train_loss_min"]) == pytest.approx(grid["train_loss"].min())
    assert float(rows["explained_variance_ratio_pc1"]) == pytest.approx(projection["ratio"][0])
    assert not list((tiny_run / "results/landscape/chunks").glob("*.npz"))  # temp() chunks are gone


def test_grid_values_match_an_independent_evaluation(tiny_run):
    grid = load_npz(tiny_run / "results/landscape/grid.npz")
    projection = load_npz(tiny_run / "results/landscape/projection.npz")
    pca = load_torch(tiny_run / "results/landscape/pca.pt")
    a, b, c = projection["pc3_fit"]
    i, j = 3, 1
    x1, x2 = grid["x1"][i], grid["x2"][j]
    theta = pca["mean"].double() + torch.tensor([x1, x2, a * x1**2 + b * x1 + c]) @ pca["components"][:3].double()
    want = reference.evaluate_point(build_model("vgg_small"), theta.float(), *eval_sets(tiny_run), "mse")
    got = [grid[m][i, j] for m in ("train_loss", "train_acc", "test_loss", "test_acc")]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def eval_sets(root):
    sets = []
    for name in ("train", "eval"):
        record = load_torch(root / f"results/data/{name}.pt")
        keep = image_subset(len(record["labels"]), None if name == "train" else 100, 0)
        sets.append((record["images"][keep], record["labels"][keep]))
    return sets


def test_paths_table_against_the_snapshots_themselves(tiny_run):
    table = pd.read_csv(tiny_run / "results/landscape/paths.csv")
    projection = load_npz(tiny_run / "results/landscape/projection.npz")
    pca = load_torch(tiny_run / "results/landscape/pca.pt")
    n = len(projection["epochs"])
    assert len(table) == 4 * n and set(table["evaluated_at"]) == {"snapshot", "surface"}
    assert set(table["split"]) == {"train", "test"} and set(table["path"]) == {"main", "decay2", "decay4"}
    assert table.loc[table["path"] == "main", "decay_epoch"].isna().all()
    assert set(table.loc[table["path"] == "decay4", "decay_epoch"]) == {4}
    # one snapshot, read back from its file: decay2's last one (epoch 2 after the decay)
    row = table[(table["path"] == "decay2") & (table["epoch"] == 4)]
    theta = load_torch(tiny_run / "results/seed7/sub/decay2/snapshots.pt")["params"][1]
    a, b, c = projection["pc3_fit"]
    c1, c2 = row["pc1"].iloc[0], row["pc2"].iloc[0]
    assert row["surface_pc3"].iloc[0] == pytest.approx(a * c1**2 + b * c1 + c)
    surface = pca["mean"].double() + torch.tensor([c1, c2, a * c1**2 + b * c1 + c]) @ pca["components"][:3].double()
    assert row["distance"].iloc[0] == pytest.approx(float((theta.double() - surface).norm()), rel=1e-6)
    assert 0 < row["residual"].iloc[0] <= row["distance"].iloc[0]
    model, sets = build_model("vgg_small"), eval_sets(tiny_run)
    for where, weights in (("snapshot", theta), ("surface", surface.float())):
        want = reference.evaluate_point(model, weights, *sets, "mse")
        got = [
            row[(row["split"] == s) & (row["evaluated_at"] == where)][m].iloc[0]
            for s, m in (("train", "loss"), ("train", "acc"), ("test", "loss"), ("test", "acc"))
        ]
        np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=where)
    # the summary says how far off the surface the trajectories are
    rows = dict(csv.reader((tiny_run / "results/landscape/summary.csv").open()))
    one = table[(table["split"] == "train") & (table["evaluated_at"] == "snapshot")]
    assert float(rows["distance_from_surface_max"]) == pytest.approx(one["distance"].max())
    assert float(rows["distance_from_surface_median"]) == pytest.approx(one["distance"].median())
    assert int(rows["snapshots"]) == n and 0 <= float(rows["pc3_fit_r2"]) <= 1
    wide = table[table["split"] == "test"].pivot_table(index=["path", "epoch"], columns="evaluated_at", values="loss")
    gap = (wide["snapshot"] - wide["surface"]).abs()
    assert float(rows["test_loss_true_vs_surface_median_abs"]) == pytest.approx(gap.median())
    assert float(rows["test_loss_true_vs_surface_median_abs_main"]) == pytest.approx(gap.loc["main"].median())


def test_reruns_follow_the_config(tiny_run):
    assert job_counts(tiny_run) == {}
    # grid resolution: the chunks, the merge and the figure; the PCA stays
    finer = {"landscape": {"grid": {"pc1": {"min": -1, "max": 1, "points": 6}}}}
    assert job_counts(tiny_run, finer) == {"landscape_chunk": 2, "landscape_merge": 1, "fig2": 1}
    # a different set of subpaths: the PCA and everything after it
    assert job_counts(tiny_run, {"landscape": {"subpaths": [4]}}) == {
        "landscape_pca": 1,
        "landscape_chunk": 2,
        "landscape_paths": 1,
        "landscape_merge": 1,
        "fig2": 1,
    }
    # the images of the landscape: every evaluation, not the PCA
    assert job_counts(tiny_run, {"landscape": {"test_images": 50}}) == {
        "landscape_chunk": 2,
        "landscape_paths": 1,
        "landscape_merge": 1,
        "fig2": 1,
    }
    # colour scale: the figure only
    assert job_counts(tiny_run, {"landscape": {"color_scale": "log"}}) == {"fig2": 1}
