"""Gather the snapshot trajectories (main path and subpaths) that span the PCA."""

from dataclasses import dataclass

import numpy as np
import torch

from ..io import load_torch

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
        raise RuntimeError(f"{path}: not a snapshots file (needs 'epochs' and 'params')")
    epochs, params = record["epochs"].to(torch.int64), record["params"]
    if params.ndim != 2 or len(params) != len(epochs):
        raise RuntimeError(f"{path}: 'params' must be [k, D] with one row per entry of 'epochs'")
    return epochs.numpy(), params.float(), record.get("decay_epoch")


def _keep(n, stride, forced=()):
    """Indices of every ``stride``-th row from the first, the last row and ``forced`` rows."""
    keep = set(range(0, n, stride)) | set(forced)
    if n:
        keep.add(n - 1)
    return sorted(keep)


def _stack(files):
    """Concatenate per-segment files in epoch order, dropping repeated epochs."""
    parts = sorted((_read(f) for f in files), key=lambda p: p[0][0] if len(p[0]) else -1)
    epochs = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    params = torch.cat([p[1] for p in parts]) if parts else torch.zeros(0, 0)
    epochs, first = np.unique(epochs, return_index=True)
    return epochs, params[torch.as_tensor(first)]


def load_trajectories(main_files, sub_files, stride=1, main_start=0):
    """Main path from epoch ``main_start`` on (its branch points always kept) and every
    subpath, each thinned to every ``stride``-th snapshot plus its last one."""
    main_epochs, main_params = _stack(main_files)
    subs = []
    for path in sub_files:
        epochs, params, decay = _read(path)
        if decay is None:
            raise RuntimeError(f"{path}: subpath snapshots without 'decay_epoch'")
        subs.append((int(decay), epochs, params))
    subs.sort(key=lambda s: s[0])
    in_range = main_epochs >= main_start
    main_epochs, main_params = main_epochs[in_range], main_params[torch.as_tensor(in_range)]
    where = {int(e): i for i, e in enumerate(main_epochs)}
    branch = [where[d] for d, _, _ in subs if d in where]
    rows = [main_params[_keep(len(main_epochs), stride, branch)]]
    paths = [MAIN] * len(rows[0])
    epochs = [main_epochs[_keep(len(main_epochs), stride, branch)]]
    for decay, sub_epochs, params in subs:
        order = np.argsort(sub_epochs, kind="stable")
        sub_epochs, params = sub_epochs[order], params[torch.as_tensor(order)]
        after = sub_epochs > 0  # epoch 0 of a subpath is the main-path snapshot at the decay
        idx = _keep(int(after.sum()), stride)
        rows.append(params[torch.as_tensor(after)][idx])
        epochs.append(decay + sub_epochs[after][idx])
        paths += [path_label(decay)] * len(idx)
    widths = {r.shape[1] for r in rows if len(r)}
    if len(widths) > 1:
        raise RuntimeError(f"snapshot files disagree on the parameter count: {sorted(widths)}")
    return Trajectories(torch.cat(rows), paths, np.concatenate(epochs).astype(np.int64))
