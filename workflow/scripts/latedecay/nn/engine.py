"""The training loop shared by the main path and the subpaths.

The dataset sits on the device as uint8; each epoch draws one permutation and per-sample
crops/flips (CPU generator seeded from (seed, path, epoch), applied on the device in one
gather), normalizes per batch, and steps SGD without host syncs: losses stay in device
tensors and are read once per logging interval.
"""

import logging
import time
from dataclasses import dataclass

import torch

from . import rng
from .augment import crop_flip, draw
from .data import model_input
from .evaluate import evaluate
from .losses import per_sample_loss
from .models import pool_before_relu

log = logging.getLogger("latedecay.nn.engine")


@dataclass
class Spec:
    """What one training job does; every field comes from the rule's params."""

    path: str  # "main" or "decay<E>"
    seed: int
    lr: float
    momentum: float
    weight_decay: float
    batch_size: int
    loss: str
    eval_every: int
    snapshot_every: int
    resume_every: int
    eval_augment: bool = False


def place(model, device):
    """Move a model to ``device`` for training, weights in channels_last like the inputs
    (model_input): about 5 % faster convolutions on CPU than converting every step; and
    pool before ReLU (models.pool_before_relu, exact): about 10 % faster epochs on CPU."""
    return pool_before_relu(model).to(device=device, memory_format=torch.channels_last)


def flat_params(model):
    """All parameters as one vector, in parameters() order (reshape: weights may be channels_last)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def make_optimizer(model, spec):
    return torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)


def epoch_batches(train, spec, epoch):
    """The epoch's augmented uint8 images and labels in visiting order (drop_last)."""
    gen = rng.generator(spec.seed, spec.path, epoch, "data")
    n = len(train.labels)
    perm = torch.randperm(n, generator=gen)
    offsets, flips = draw(n, gen)
    used = (n // spec.batch_size) * spec.batch_size
    perm = perm[:used].to(train.labels.device)
    return crop_flip(train.images[perm], offsets[:used], flips[:used]), train.labels[perm]


def train_epoch(model, optimizer, train, spec, epoch):
    """One epoch; returns the mean mini-batch loss as a device tensor."""
    images, labels = epoch_batches(train, spec, epoch)
    torch.manual_seed(rng.epoch_seed(spec.seed, spec.path, epoch, "dropout"))  # dropout masks
    dtype = next(model.parameters()).dtype
    model.train()
    total = torch.zeros((), dtype=dtype, device=labels.device)
    steps = len(labels) // spec.batch_size
    for step in range(steps):
        batch = slice(step * spec.batch_size, (step + 1) * spec.batch_size)
        loss = per_sample_loss(spec.loss, model(model_input(images[batch], dtype)), labels[batch]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
    return total / steps


def new_history():
    return {"epochs": [], "train_batch_loss": [], "snapshot_epochs": [], "snapshots": [],
            "eval": {k: [] for k in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")},
            "train_images": 0, "train_seconds": 0.0}  # fmt: skip


def eval_at(model, sets, spec, epoch):
    """Device tensors (train_loss, train_acc, test_loss, test_acc) at ``epoch``."""
    gens = [rng.generator(spec.seed, spec.path, epoch, "eval") if spec.eval_augment else None for _ in sets]
    return [value for split, gen in zip(sets, gens) for value in evaluate(model, split, spec.loss, gen)]


def record_eval(history, model, sets, spec, epoch):
    values = torch.stack([v.double() for v in eval_at(model, sets, spec, epoch)]).tolist()
    for name, value in zip(("train_loss", "train_acc", "test_loss", "test_acc"), values):
        history["eval"][name].append(value)
    history["eval"]["epoch"].append(epoch)


def record_snapshot(history, model, epoch):
    history["snapshot_epochs"].append(epoch)
    history["snapshots"].append(flat_params(model).float().cpu())


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _log_line(history, spec, epoch):
    ev = history["eval"]
    test = f" eval train {ev['train_loss'][-1]:.4f} test {ev['test_loss'][-1]:.4f} acc {ev['test_acc'][-1]:.4f}"
    rate = history["train_images"] / max(history["train_seconds"], 1e-9)
    log.info(
        "%s epoch %d batch loss %.5f%s %.0f images/s",
        spec.path, epoch, history["train_batch_loss"][-1], test if ev["epoch"][-1:] == [epoch] else "", rate,
    )  # fmt: skip


def run(epoch_fn, model_fn, sets, specs, start_epoch, end_epoch, histories, save_state=None):
    """Train epochs start_epoch+1 .. end_epoch of K models (one, or a pack), evaluating and
    snapshotting at multiples of eval_every / snapshot_every.

    ``epoch_fn(epoch)`` trains all K models one epoch and returns their mean mini-batch
    losses as a [K] device tensor; ``model_fn(k)`` gives model k as an nn.Module;
    ``save_state(epoch)`` writes the resume state (every resume_every epochs). The
    histories (possibly from a resume state) are extended in place.
    """
    spec, train = specs[0], sets[0]
    device = train.labels.device
    pending = []  # device losses not yet read
    clock = time.perf_counter()
    for epoch in range(start_epoch + 1, end_epoch + 1):
        pending.append(epoch_fn(epoch))
        boundary = [epoch % every == 0 for every in (spec.eval_every, spec.snapshot_every, spec.resume_every)]
        for history in histories:
            history["epochs"].append(epoch)
            history["train_images"] += (len(train.labels) // spec.batch_size) * spec.batch_size
        if not (any(boundary) or epoch == end_epoch):
            continue
        _sync(device)
        seconds = time.perf_counter() - clock
        losses = torch.stack(pending).double().T.tolist()  # one host read per interval: [K][epochs]
        pending = []
        for k, history in enumerate(histories):
            history["train_seconds"] += seconds
            history["train_batch_loss"] += losses[k]
            if boundary[0]:
                record_eval(history, model_fn(k), sets, specs[k], epoch)
            if boundary[1]:
                record_snapshot(history, model_fn(k), epoch)
            if boundary[0] or epoch == end_epoch:
                _log_line(history, specs[k], epoch)
        if boundary[2] and save_state and epoch < end_epoch:
            save_state(epoch)
        clock = time.perf_counter()
    return histories


def snapshots_record(history, run_path, decay_epoch, num_params):
    if history["snapshots"]:
        params = torch.stack(history["snapshots"])
    else:
        params = torch.zeros((0, num_params), dtype=torch.float32)
    return {"epochs": torch.tensor(history["snapshot_epochs"], dtype=torch.int64), "params": params,
            "path": run_path, "decay_epoch": decay_epoch}  # fmt: skip


def metrics_record(history, run_path, decay_epoch, start_epoch, end_epoch, device):
    return {
        "path": run_path,
        "decay_epoch": decay_epoch,
        "start_epoch": start_epoch,
        "end_epoch": end_epoch,
        "epochs": history["epochs"],
        "train_batch_loss": history["train_batch_loss"],
        "eval": history["eval"],
        "images_per_s": history["train_images"] / history["train_seconds"] if history["train_seconds"] else None,
        "device": str(device),
    }
