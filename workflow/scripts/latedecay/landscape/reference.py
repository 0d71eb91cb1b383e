"""The plain way to evaluate a grid, one point at a time: the reference that tests compare
the batched evaluator against and the baseline of bench/landscape.py.

Each point's weights are loaded into the model (vector_to_parameters), then the data go
through a DataLoader in NCHW batches, each moved to the model's device, with BatchNorm
handled as in ``evaluate``."""

import numpy as np
import torch
from torch.nn.utils import vector_to_parameters
from torch.utils.data import DataLoader, TensorDataset

from ..names import EVAL_METRICS
from ..nn.data import normalize
from ..nn.losses import per_sample_loss
from .evaluate import batchnorms


@torch.no_grad()
def _pass(model, loader, loss_name, dtype):
    loss, hits, n = 0.0, 0, 0
    device = next(model.parameters()).device
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(normalize(images, dtype))
        loss += float(per_sample_loss(loss_name, logits, labels).double().sum())
        hits += int((logits.argmax(-1) == labels).sum())
        n += len(labels)
    return loss / n, hits / n


@torch.no_grad()
def evaluate_point(model, theta, train, test, loss_name, bn_stats="recompute", batch_size=128):
    """(train loss, train acc, test loss, test acc) of ``model`` with flat weights ``theta``."""
    first = next(model.parameters())
    dtype = first.dtype
    vector_to_parameters(theta.to(first.device, dtype), model.parameters())
    model.eval()
    bns = batchnorms(model)
    loaders = [DataLoader(TensorDataset(*split), batch_size=batch_size) for split in (train, test)]
    if bns and bn_stats == "recompute":
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
            m.train()
        _pass(model, loaders[0], loss_name, dtype)
        for m in bns:
            m.eval()
            m.momentum = 0.1
    if bns and bn_stats == "batch":
        for m in bns:
            m.train()
            m.track_running_stats = False
    out = _pass(model, loaders[0], loss_name, dtype) + _pass(model, loaders[1], loss_name, dtype)
    for m in bns:
        m.eval()
        m.track_running_stats = True
    return out


def evaluate_grid(model, mean, basis, coefs, sets, loss_name, bn_stats="recompute", batch_size=128):
    """Dict of arrays [P] like GridEvaluator.evaluate, one point at a time; ``sets`` = (train, test)."""
    mean, basis = torch.as_tensor(mean), torch.as_tensor(basis)
    rows = [
        evaluate_point(
            model,
            mean + torch.as_tensor(c, dtype=basis.dtype) @ basis[: len(c)],
            *sets,
            loss_name,
            bn_stats,
            batch_size,
        )
        for c in np.asarray(coefs, np.float64)
    ]
    return dict(zip(EVAL_METRICS, map(np.array, zip(*rows))))
