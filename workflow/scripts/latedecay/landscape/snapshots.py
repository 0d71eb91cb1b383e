"""Gather the snapshot trajectories (main path and subpaths) that span the PCA."""

from dataclasses import dataclass

import numpy as np
import torch

from ..io import load_torch, rebuild_hint
from ..names import MAIN, run_label
from .selection import select


@dataclass
class Trajectories:
    params: torch.Tensor  # float32 [N, D], rows grouped by path, epochs increasing
    runs: list  # [N] run label of each row (names.run_label): "main" or "decay<decay epoch>"
    epochs: np.ndarray  # int64 [N], global epoch (subpaths: decay epoch + epochs after it)


def _read(path):
    record = load_torch(path)
    if not {"epochs", "params"} <= set(record):
        raise RuntimeError(f"{path}: not a snapshots file (needs 'epochs' and 'params'); {rebuild_hint(path)}")
    epochs, params = record["epochs"].to(torch.int64), record["params"]
    if params.ndim != 2 or len(params) != len(epochs):
        raise RuntimeError(f"{path}: 'params' must be [k, D] with one row per entry of 'epochs'; {rebuild_hint(path)}")
    return epochs.numpy(), params.float(), record.get("decay_epoch")


def _main_rows(files):
    """{epoch: row} of the main path (segment files may overlap)."""
    rows = {}
    for path in files:
        epochs, params, _ = _read(path)
        for epoch, row in zip(epochs.tolist(), params):
            rows.setdefault(epoch, row)
    return dict(sorted(rows.items()))


def _sub_rows(path):
    """(decay epoch, {global epoch: row}) of one subpath, epochs counted after the decay > 0
    (epoch 0 of a subpath would repeat the main-path snapshot it branches from)."""
    epochs, params, decay = _read(path)
    if decay is None:
        raise RuntimeError(f"{path}: subpath snapshots without 'decay_epoch'")
    rows = {int(decay) + e: row for e, row in zip(epochs.tolist(), params) if e > 0}
    return int(decay), dict(sorted(rows.items()))


def load_trajectories(main_files, sub_files, stride=1, main_start=0):
    """Main path from epoch ``main_start`` on (its branch points always kept) and every
    subpath, each thinned to every ``stride``-th snapshot plus its last one (selection.select).

    Rows are selected before they are copied, so memory peaks at the files plus the result.
    """
    main = _main_rows(main_files)
    subs = dict(_sub_rows(path) for path in sub_files)
    chosen = select(list(main), {d: list(series) for d, series in subs.items()}, stride, main_start)
    runs, epochs, rows = [], [], []
    for decay, kept in chosen:
        series = main if decay is None else subs[decay]
        runs += [run_label(decay)] * len(kept)
        epochs += kept
        rows += [series[epoch] for epoch in kept]
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise RuntimeError(f"snapshot files disagree on the parameter count: {sorted(widths)}")
    if not rows:
        raise RuntimeError("no snapshots to analyse: check landscape.main_start and the snapshot files")
    return Trajectories(torch.stack(rows), runs, np.array(epochs, dtype=np.int64))


def select_snapshots(main_files, sub_files, labels, epochs):
    """float32 [N, D] rows of the snapshots named by (run label, global epoch) pairs, in that
    order: the rows of a PCA (projection.npz "paths" and "epochs") read back from the files."""
    series = {MAIN: _main_rows(main_files)}
    for path in sub_files:
        decay, rows = _sub_rows(path)
        series[run_label(decay)] = rows
    picked = []
    for label, epoch in zip(labels, np.asarray(epochs).tolist()):
        row = series.get(str(label), {}).get(int(epoch))
        if row is None:
            raise RuntimeError(
                f"no snapshot of {label} at epoch {epoch} in the snapshot files (the PCA was made from other files)"
            )
        picked.append(row)
    if not picked:
        raise RuntimeError("no snapshots selected")
    return torch.stack(picked)
