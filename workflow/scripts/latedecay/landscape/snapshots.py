"""Gather the snapshot trajectories (main path and subpaths) that span the PCA."""

from dataclasses import dataclass

import numpy as np
import torch

from ..io import load_torch, rebuild_hint

MAIN = "main"


def path_label(decay_epoch):
    return MAIN if decay_epoch is None else f"sub{int(decay_epoch)}"


@dataclass
class Trajectories:
    params: torch.Tensor  # float32 [N, D], rows grouped by path, epochs increasing
    paths: list  # [N] path label of each row: "main" or "sub<decay epoch>"
    epochs: np.ndarray  # int64 [N], global epoch (subpaths: decay epoch + epochs after it)


def _read(path):
    record = load_torch(path)
    if not {"epochs", "params"} <= set(record):
        raise RuntimeError(f"{path}: not a snapshots file (needs 'epochs' and 'params'); {rebuild_hint(path)}")
    epochs, params = record["epochs"].to(torch.int64), record["params"]
    if params.ndim != 2 or len(params) != len(epochs):
        raise RuntimeError(f"{path}: 'params' must be [k, D] with one row per entry of 'epochs'; {rebuild_hint(path)}")
    return epochs.numpy(), params.float(), record.get("decay_epoch")


def _keep(n, stride, forced=()):
    """Indices of every ``stride``-th row from the first, the last row and ``forced`` rows."""
    keep = set(range(0, n, stride)) | set(forced)
    if n:
        keep.add(n - 1)
    return sorted(keep)


def _main_rows(files, main_start):
    """{epoch: row} of the main path from ``main_start`` on (segment files may overlap)."""
    rows = {}
    for path in files:
        epochs, params, _ = _read(path)
        for epoch, row in zip(epochs.tolist(), params):
            if epoch >= main_start:
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
    subpath, each thinned to every ``stride``-th snapshot plus its last one.

    Rows are selected before they are copied, so memory peaks at the files plus the result.
    """
    main = _main_rows(main_files, main_start)
    subs = sorted((_sub_rows(path) for path in sub_files), key=lambda s: s[0])
    main_epochs = list(main)
    branch = [main_epochs.index(d) for d, _ in subs if d in main]
    paths, epochs, rows = [], [], []
    for label, series, forced in [(MAIN, main, branch)] + [(path_label(d), s, ()) for d, s in subs]:
        keys = list(series)
        for i in _keep(len(keys), stride, forced):
            paths.append(label)
            epochs.append(keys[i])
            rows.append(series[keys[i]])
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise RuntimeError(f"snapshot files disagree on the parameter count: {sorted(widths)}")
    if not rows:
        raise RuntimeError("no snapshots to analyse: check landscape.main_start and the snapshot files")
    return Trajectories(torch.stack(rows), paths, np.array(epochs, dtype=np.int64))
