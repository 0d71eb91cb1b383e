"""The numbers Fig. 2 shows: the landscapes, the trajectories on them, and how far the
trajectories sit from the surface.

The entry script computes them here and hands them to ``latedecay.plots.fig2``, which only
draws (numpy and pandas only, for the plot environment).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..names import MAIN, decay_of
from .merge import SPLITS, loss_gaps, pc3_fit_r2, snapshot_rows


@dataclass(frozen=True)
class Fig2Data:
    """What Fig. 2 draws.

    x1, x2        the grid's PC1 and PC2 axes
    landscapes    {"train": loss grid, "test": loss grid}, indexed (x1, x2)
    ratio         explained variance ratio of each component
    surface       "flat" or "curved"; n_train, n_test: the images the losses average over
    trajectories  {label: (pc1, pc2, last epoch)}, main path first (``trajectories``)
    star          (pc1, pc2, epoch) of the last point of the longest trajectory
    lines         paths.csv rows, each subpath led by its branch point (``path_lines``)
    loss_gap      {split: median |true - surface| loss over the snapshots}
    distance      (median, max) distance of the snapshots from the surface
    pc3_r2        R² of the surface's PC3 fit (nan without one)
    """

    x1: np.ndarray
    x2: np.ndarray
    landscapes: dict
    ratio: np.ndarray
    surface: str
    n_train: int
    n_test: int
    trajectories: dict
    star: tuple
    lines: pd.DataFrame
    loss_gap: dict
    distance: tuple
    pc3_r2: float


def fig2(grid, projection, paths):
    """Fig. 2's numbers from grid.npz and projection.npz contents and the paths.csv table."""
    lines = trajectories(projection)
    longest = max(lines.values(), key=lambda p: p[2])
    snapshots = snapshot_rows(paths)
    return Fig2Data(
        x1=grid["x1"],
        x2=grid["x2"],
        landscapes={split: grid[f"{split}_loss"] for split in SPLITS},
        ratio=grid["ratio"],
        surface=str(grid["surface"]),
        n_train=int(grid["n_train"]),
        n_test=int(grid["n_test"]),
        trajectories=lines,
        star=(float(longest[0][-1]), float(longest[1][-1]), longest[2]),
        lines=path_lines(paths),
        loss_gap={split: float(loss_gaps(paths, split).median()) for split in SPLITS},
        distance=(float(snapshots["distance"].median()), float(snapshots["distance"].max())),
        pc3_r2=float(pc3_fit_r2(projection)),
    )


def trajectories(projection):
    """{label: (pc1, pc2, last epoch)}; subpaths start at the main-path snapshot they branch from."""
    coords, paths, epochs = projection["coords"], projection["paths"].astype(str), projection["epochs"]
    main = paths == MAIN
    out = {MAIN: (coords[main, 0], coords[main, 1], int(epochs[main].max()) if main.any() else -1)}
    main_at = {int(e): coords[i, :2] for i, e in zip(np.flatnonzero(main), epochs[main])}
    for label in sorted(set(paths) - {MAIN}, key=decay_of):
        rows = paths == label
        c = coords[rows, :2]
        start = main_at.get(decay_of(label))
        if start is not None:
            c = np.vstack([start, c])
        out[label] = (c[:, 0], c[:, 1], int(epochs[rows].max()))
    return out


def path_lines(paths):
    """paths.csv rows with each subpath led by its branch point (the main-path rows at its
    decay epoch, when the main path has them), so its line starts where it leaves the main path."""
    main = paths[paths["path"] == MAIN]
    leads = [
        main[main["epoch"] == decay_of(label)].assign(path=label) for label in paths["path"].unique() if label != MAIN
    ]
    return pd.concat([paths, *leads], ignore_index=True)
