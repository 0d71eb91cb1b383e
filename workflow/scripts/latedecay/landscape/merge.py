"""The merge job: chunk files -> grid.npz; the paths file -> the tidy table paths.csv; both
-> the landscape summary (numpy and pandas only, so it runs in the plot environment)."""

import numpy as np
import pandas as pd

from ..io import load_npz, save_csv, save_npz
from ..names import EVAL_METRICS, MAIN, decay_of
from .grid import merge_chunks
from .surface import quadratic_fit_r2

WHERE = ("snapshot", "surface")  # paths.csv "evaluated_at": theta itself, or theta_s(c1, c2)
SPLITS = ("train", "test")


def run_merge(chunk_files, projection_file, paths_file, out_grid, out_paths, out_summary):
    """Merge the chunk files into grid.npz, write paths.csv and the landscape summary CSV."""
    parts = [load_npz(f) for f in chunk_files]
    for f, part in zip(chunk_files[1:], parts[1:]):
        for key in ("x1", "x2", "surface", "bn_stats", "n_train", "n_test"):
            if not np.array_equal(part[key], parts[0][key]):
                raise RuntimeError(f"{f}: '{key}' differs from {chunk_files[0]} (chunks of different grids)")
    x1, x2 = parts[0]["x1"], parts[0]["x2"]
    metrics = merge_chunks(parts, (len(x1), len(x2)), [str(f) for f in chunk_files])
    projection = load_npz(projection_file)
    meta = {k: parts[0][k] for k in ("surface", "bn_stats", "n_train", "n_test")}
    paths = load_npz(paths_file)
    for key in ("surface", "bn_stats", "n_train", "n_test"):
        if not np.array_equal(paths[key], meta[key]):
            raise RuntimeError(f"{paths_file}: '{key}' differs from the grid chunks (evaluated on other settings)")
    save_npz(out_grid, x1=x1, x2=x2, ratio=projection["ratio"], pc3_fit=projection["pc3_fit"], **meta, **metrics)
    table = paths_table(paths)
    save_csv(table, out_paths)
    save_csv(
        pd.DataFrame(summary_rows(x1, x2, metrics, projection, meta, table), columns=["quantity", "value"]), out_summary
    )


def paths_table(paths):
    """Tidy table of paths.npz: one row per snapshot, split (train/test) and evaluation point
    (``evaluated_at``: "snapshot" = its own parameters, the true loss; "surface" = the surface
    point at its PC1/PC2 coordinates, the loss the figure shows there)."""
    labels = paths["paths"].astype(str)
    coefs, coords = paths["surface_coefs"], paths["coords"]
    snapshot = pd.DataFrame(
        {
            "path": labels,
            "decay_epoch": pd.array([decay_of(p) for p in labels], dtype="Int64"),
            "epoch": paths["epochs"].astype(np.int64),
            "pc1": coords[:, 0],
            "pc2": coords[:, 1],
            "pc3": coords[:, 2] if coords.shape[1] > 2 else np.nan,
            "surface_pc3": coefs[:, 2] if coefs.shape[1] > 2 else 0.0,
            "distance": paths["distance"],
            "residual": paths["residual"],
        }
    )
    rows = [
        snapshot.assign(
            split=split, evaluated_at=where, loss=paths[f"{where}_{split}_loss"], acc=paths[f"{where}_{split}_acc"]
        )
        for split in SPLITS
        for where in WHERE
    ]
    return pd.concat(rows, ignore_index=True)


def loss_gaps(table, split):
    """|true - surface| loss of each snapshot on ``split`` (train or test)."""
    wide = table[table["split"] == split].pivot_table(index=["path", "epoch"], columns="evaluated_at", values="loss")
    return (wide["snapshot"] - wide["surface"]).abs()


def snapshot_rows(table):
    """The rows of paths.csv that hold each snapshot once (train split, at the snapshot)."""
    return table[(table["split"] == SPLITS[0]) & (table["evaluated_at"] == WHERE[0])]


def pc3_fit_r2(projection):
    """R² of the curved surface's PC3 fit over the projected snapshots (nan with two components)."""
    coords = projection["coords"]
    return quadratic_fit_r2(coords[:, 0], coords[:, 2], projection["pc3_fit"]) if coords.shape[1] > 2 else np.nan


def summary_rows(x1, x2, metrics, projection, meta, table):
    rows = [
        ("surface", str(meta["surface"])),
        ("grid_points", f"{len(x1)} x {len(x2)}"),
        ("pc1_range", f"{x1[0]:.4g} .. {x1[-1]:.4g}"),
        ("pc2_range", f"{x2[0]:.4g} .. {x2[-1]:.4g}"),
        ("train_images", int(meta["n_train"])),
        ("test_images", int(meta["n_test"])),
        ("batchnorm_stats", str(meta["bn_stats"])),
    ]
    rows += [(f"explained_variance_ratio_pc{j + 1}", float(r)) for j, r in enumerate(projection["ratio"])]
    for m in EVAL_METRICS:
        values = metrics[m]
        best = np.unravel_index(np.nanargmin(values) if "loss" in m else np.nanargmax(values), values.shape)
        rows += [
            (f"{m}_min", float(np.nanmin(values))),
            (f"{m}_max", float(np.nanmax(values))),
            (f"{m}_best_pc1", float(x1[best[0]])),
            (f"{m}_best_pc2", float(x2[best[1]])),
        ]
    # How far the trajectories sit from the surface, and what that does to the loss drawn there.
    r2 = pc3_fit_r2(projection)
    snapshots = snapshot_rows(table)
    rows += [
        ("snapshots", len(snapshots)),
        ("pc3_fit_r2", float(r2)),
        ("distance_from_surface_median", float(snapshots["distance"].median())),
        ("distance_from_surface_max", float(snapshots["distance"].max())),
        ("distance_outside_pcs_median", float(snapshots["residual"].median())),
    ]
    for split in SPLITS:
        gaps = loss_gaps(table, split)
        main = gaps.loc[MAIN] if MAIN in gaps.index.get_level_values("path") else gaps.iloc[:0]
        rows += [
            (f"{split}_loss_true_vs_surface_median_abs", float(gaps.median())),
            (f"{split}_loss_true_vs_surface_max_abs", float(gaps.max())),
            (f"{split}_loss_true_vs_surface_median_abs_main", float(main.median()) if len(main) else np.nan),
        ]
    return rows
