"""The epoch loop around a ``trainer.Trainer``: cadences, histories, the divergence guard.

Evaluations, snapshots and resume states fall on multiples of train.eval_every,
train.snapshot_every and train.resume_every, counted in the run's own epochs (main-path
epochs; epochs after the decay for a subpath), whatever the job's start and end. So a
run split into segments records exactly what an unsplit run records. At its end a job
always writes its checkpoint and metrics, but adds no evaluation or snapshot off the
cadence. A main-path segment also keeps the run's state at its branch epochs
(nn.segments), where subpaths start from. Losses stay in device tensors and are read
once per recorded epoch.
"""

import logging
import math
import time

import torch

from ..metrics import Evals, Metrics
from ..names import EVAL_METRICS, decay_of
from . import rng
from .checkpoint import state_record
from .evaluate import evaluate
from .interrupt import Interrupted
from .models import pool_before_relu
from .progress import Progress, job_name
from .trainer import Partial

log = logging.getLogger("latedecay.nn.engine")


class TrainingDiverged(RuntimeError):
    """A training loss became non-finite."""


def place(model, device):
    """Move a model to ``device`` for training, weights in channels_last like the inputs
    (data.model_input): about 5 % faster convolutions on CPU than converting every step; and
    pool before ReLU (models.pool_before_relu, exact): about 10 % faster epochs on CPU."""
    return pool_before_relu(model).to(device=device, memory_format=torch.channels_last)


def new_history():
    return {
        "epochs": [],
        "train_batch_loss": [],
        "snapshot_epochs": [],
        "snapshots": [],
        "branches": [],
        "eval": {k: [] for k in ("epoch", *EVAL_METRICS)},
        "train_images": 0,
        "train_seconds": 0.0,
    }


def record_eval(history, trainer, k, sets, epoch):
    """Full-pass (train_loss, train_acc, test_loss, test_acc) of run k at ``epoch``."""
    run, s = trainer.runs[k], trainer.settings
    module, forward = trainer.evaluation(k)
    values = []
    for split in sets:
        gen = rng.generator(run.seed, run.label, epoch, "eval") if s.eval_augment else None
        values += evaluate(module, split, s.loss, gen, forward=forward, autocast=trainer.autocast)
    for name, value in zip(EVAL_METRICS, torch.stack([v.double() for v in values]).tolist()):
        history["eval"][name].append(value)
    history["eval"]["epoch"].append(epoch)


def record_snapshot(history, trainer, k, epoch):
    history["snapshot_epochs"].append(epoch)
    history["snapshots"].append(trainer.flat_params(k).float().cpu())


def record(history, trainer, k, sets, epoch):
    """What the cadences ask for at ``epoch`` (epoch 0 of the main path: both)."""
    s = trainer.settings
    if epoch % s.eval_every == 0:
        record_eval(history, trainer, k, sets, epoch)
    if epoch % s.snapshot_every == 0:
        record_snapshot(history, trainer, k, epoch)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_finite(trainer, epochs, losses):
    """Stop at the first non-finite mini-batch loss, naming the run, the epoch and the LR."""
    for run, row in zip(trainer.runs, losses):
        for epoch, value in zip(epochs, row):
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"run {run.label} (seed {run.seed}) diverged: mean mini-batch loss {value} at epoch {epoch} "
                    f"with lr {trainer.lr:g}. No outputs were written; lower the learning rate."
                )


def _log_line(history, run, epoch):
    ev, test = history["eval"], ""
    if ev["epoch"][-1:] == [epoch]:  # evaluated at this epoch
        test = f" eval train {ev['train_loss'][-1]:.4f} test {ev['test_loss'][-1]:.4f} acc {ev['test_acc'][-1]:.4f}"
    log.info("%s seed %d epoch %d batch loss %.5f%s", run.label, run.seed, epoch, history["train_batch_loss"][-1], test)


def _images_per_s(histories):
    """Training images per second of the job, summed over its K models (they train together)."""
    return sum(h["train_images"] for h in histories) / max(histories[0]["train_seconds"], 1e-9)


def _add_losses(trainer, histories, pending, epochs, images, seconds):
    """Move the device losses of ``epochs`` into the histories: one host read per interval."""
    if not epochs:
        return
    losses = torch.stack(pending).double().T.tolist()  # [K][epochs]
    check_finite(trainer, epochs, losses)
    for k, history in enumerate(histories):
        history["epochs"] += epochs
        history["train_images"] += images * len(epochs)
        history["train_seconds"] += seconds
        history["train_batch_loss"] += losses[k]


def _interrupted(stop, epoch, step):
    message = f"received {stop.name} at epoch {epoch}, step {step}: resume state saved"
    log.warning(message)
    return Interrupted(message)


def run(trainer, sets, epochs, histories, save_state=None, branch_epochs=(), partial=None, stop=None):
    """Train the ``epochs`` (a range of run epochs) of the trainer's K runs, each at its
    schedule's rate, recording into ``histories`` (one per run, possibly from a resume
    state) in place, with each run's checkpoint at ``branch_epochs`` in its history's
    "branches". ``partial`` (a trainer.Partial of the range's first epoch) continues an
    epoch a resume state stopped in.

    ``save_state(epoch, partial)`` writes the resume state at multiples of
    train.resume_every and, once ``stop()`` (nn.interrupt) turns true, at the next step
    boundary; the job then raises Interrupted. Each evaluation (and the end) logs the
    job's progress.
    """
    s, train = trainer.settings, sets[0]
    device = train.labels.device
    images = (len(train.labels) // s.batch_size) * s.batch_size
    start_epoch, end_epoch = epochs.start - 1, epochs.stop - 1
    job_start = start_epoch - len(histories[0]["epochs"])  # a resumed history holds the job's earlier epochs
    progress = Progress(job_name(trainer.runs), job_start, end_epoch, start_epoch)
    pending, done = [], []  # device losses not yet read, and their epochs
    clock = time.perf_counter()
    for epoch in epochs:
        trainer.set_lr(trainer.schedule.lr_at(epoch))
        losses = trainer.train_epoch(train, epoch, partial, stop)
        partial = None
        if isinstance(losses, Partial):  # stopped mid-epoch: keep what the finished epochs gave
            _sync(device)
            _add_losses(trainer, histories, pending, done, images, time.perf_counter() - clock)
            save_state(epoch - 1, losses)
            raise _interrupted(stop, epoch, losses.step)
        pending.append(losses)
        done.append(epoch)
        recorded = epoch % s.eval_every == 0 or epoch % s.snapshot_every == 0
        branch = epoch in branch_epochs
        stopping = stop is not None and stop() and epoch < end_epoch
        resume = (epoch % s.resume_every == 0 or stopping) and save_state is not None and epoch < end_epoch
        if not (recorded or branch or resume or epoch == end_epoch):
            continue
        _sync(device)
        _add_losses(trainer, histories, pending, done, images, time.perf_counter() - clock)
        for k, history in enumerate(histories):
            record(history, trainer, k, sets, epoch)
            if branch:
                history["branches"].append(state_record(trainer, k, epoch))
            if recorded or epoch == end_epoch:
                _log_line(history, trainer.runs[k], epoch)
        if epoch % s.eval_every == 0 or epoch == end_epoch:
            progress.log(epoch, _images_per_s(histories))
        pending, done = [], []
        if resume:
            save_state(epoch, None)
        if stopping:
            raise _interrupted(stop, epoch, images // s.batch_size)
        clock = time.perf_counter()
    return histories


def snapshots_record(history, run, num_params):
    if history["snapshots"]:
        params = torch.stack(history["snapshots"])
    else:
        params = torch.zeros((0, num_params), dtype=torch.float32)
    return {
        "epochs": torch.tensor(history["snapshot_epochs"], dtype=torch.int64),
        "params": params,
        "path": run.label,
        "seed": run.seed,
        "decay_epoch": decay_of(run.label),
    }


def metrics_record(history, run, start_epoch, end_epoch, device, lr, settings):
    """The job's metrics.json (latedecay.metrics, the contract Fig. 1 reads)."""
    return Metrics(
        precision=settings.precision,
        compile=settings.compile,
        path=run.label,
        seed=run.seed,
        decay_epoch=decay_of(run.label),
        lr=lr,
        start_epoch=start_epoch,
        end_epoch=end_epoch,
        epochs=history["epochs"],
        train_batch_loss=history["train_batch_loss"],
        eval=Evals(**history["eval"]),
        device=str(device),
    )
