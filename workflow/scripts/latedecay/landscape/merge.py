"""The merge job: chunk files -> grid.npz and the landscape summary (numpy only, so it
runs in the plot environment)."""

import csv

import numpy as np

from ..io import atomic_path, load_npz, save_npz
from .grid import METRICS, merge_chunks


def run_merge(chunk_files, projection_file, out_grid, out_summary):
    """Merge the chunk files into grid.npz and write the landscape summary CSV."""
    parts = [load_npz(f) for f in chunk_files]
    for f, part in zip(chunk_files[1:], parts[1:]):
        for key in ("x1", "x2", "surface", "bn_stats", "n_train", "n_test"):
            if not np.array_equal(part[key], parts[0][key]):
                raise RuntimeError(f"{f}: '{key}' differs from {chunk_files[0]} (chunks of different grids)")
    x1, x2 = parts[0]["x1"], parts[0]["x2"]
    metrics = merge_chunks(parts, (len(x1), len(x2)), [str(f) for f in chunk_files])
    projection = load_npz(projection_file)
    meta = {k: parts[0][k] for k in ("surface", "bn_stats", "n_train", "n_test")}
    save_npz(out_grid, x1=x1, x2=x2, ratio=projection["ratio"],
             pc3_fit=projection["pc3_fit"], seconds=sum(float(p["seconds"]) for p in parts), **meta, **metrics)  # fmt: skip
    write_summary(out_summary, x1, x2, metrics, projection, meta)


def summary_rows(x1, x2, metrics, projection, meta):
    rows = [("surface", str(meta["surface"])), ("grid_points", f"{len(x1)} x {len(x2)}"),
            ("pc1_range", f"{x1[0]:.4g} .. {x1[-1]:.4g}"), ("pc2_range", f"{x2[0]:.4g} .. {x2[-1]:.4g}"),
            ("train_images", int(meta["n_train"])), ("test_images", int(meta["n_test"])),
            ("batchnorm_stats", str(meta["bn_stats"]))]  # fmt: skip
    rows += [(f"explained_variance_ratio_pc{j + 1}", float(r)) for j, r in enumerate(projection["ratio"])]
    for m in METRICS:
        values = metrics[m]
        best = np.unravel_index(np.nanargmin(values) if "loss" in m else np.nanargmax(values), values.shape)
        rows += [(f"{m}_min", float(np.nanmin(values))), (f"{m}_max", float(np.nanmax(values))),
                 (f"{m}_best_pc1", float(x1[best[0]])), (f"{m}_best_pc2", float(x2[best[1]]))]  # fmt: skip
    return rows


def write_summary(path, x1, x2, metrics, projection, meta):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["quantity", "value"])
        writer.writerows(summary_rows(x1, x2, metrics, projection, meta))
