"""One Snakemake training job end to end: the initial main checkpoint, a main-path
segment, or a pack of K >= 1 subpaths. Entry scripts call these with ``snakemake.params``."""

import logging
from pathlib import Path

import torch

from ..io import save_json, save_torch
from ..names import MAIN, decay_of
from . import engine
from .checkpoint import job_key, load_checkpoint, load_resume, save_checkpoint, save_resume
from .data import load_sets
from .models import build_model, num_params
from .trainer import Run, Trainer

log = logging.getLogger("latedecay.nn.job")

OUTPUTS = ("checkpoint", "metrics", "snapshots")  # one of each per run


def paths(item):
    """A Snakemake input/output item (one path, or a list of them) as a list of paths."""
    return [item] if isinstance(item, str) else list(item)


def _write_outputs(out, trainer, k, history, start, end, device):
    run = trainer.runs[k]
    save_torch(engine.snapshots_record(history, run, trainer.flat_params(k).numel()), out["snapshots"])
    save_json(engine.metrics_record(history, run, start, end, device, trainer.lr, trainer.settings), out["metrics"])
    save_checkpoint(out["checkpoint"], trainer, k, end)  # last: marks success


def init_main(data, settings, seed, out, device):
    """Epoch 0 of the main path: seeded init, evaluation and snapshot of the initial model."""
    sets = load_sets(data["train"], data["eval"], device)
    torch.manual_seed(seed)
    model = engine.place(build_model(settings.arch), device)
    trainer = Trainer.create([model], [Run(seed, MAIN)], settings, lr=0.0)  # each segment sets its lr
    history = engine.new_history()
    engine.record(history, trainer, 0, sets, 0)
    log.info("initial model: %d parameters, eval %s", num_params(model), history["eval"])
    _write_outputs(out, trainer, 0, history, 0, 0, device)


def train_job(data, settings, runs, lr, starts, end_epoch, outs, device, resume_file, key_params,
              reset_momentum=True):  # fmt: skip
    """Train one main-path segment (one run "main", from the previous segment's checkpoint)
    or K subpaths (from the main checkpoints at their decay epochs; epochs counted after
    the decay), resuming from ``resume_file`` when it belongs to this job; delete it on success."""
    sets = load_sets(data["train"], data["eval"], device)
    ckpts = [load_checkpoint(path) for path in starts]
    main = runs[0].label == MAIN
    if main and len(runs) != 1 or not main and any(r.label == MAIN for r in runs):
        raise ValueError("a main-path segment trains one run, and never with subpaths")
    start = ckpts[0]["epoch"] if main else 0
    for ckpt, path, run in zip(ckpts, starts, runs, strict=True):
        _check_start(ckpt, path, run, start, end_epoch)
    trainer = Trainer.create([_model_from(c, p, settings.arch, device) for c, p in zip(ckpts, starts)], runs,
                             settings, lr)  # fmt: skip
    if main or not reset_momentum:
        trainer.load_momentum([c["optimizer"] for c in ckpts])
    key = job_key(starts, key_params)
    histories, first = _resume(resume_file, key, trainer, [engine.new_history() for _ in runs], start)
    try:
        engine.run(trainer, sets, first, end_epoch, histories,
                   lambda epoch: save_resume(resume_file, key, trainer, epoch, histories))  # fmt: skip
        if not trainer.all_finite():
            raise engine.TrainingDiverged(f"non-finite weights after epoch {end_epoch} (lr {lr:g}); no outputs written")
    except engine.TrainingDiverged:
        Path(resume_file).unlink(missing_ok=True)  # nothing of a diverged run is kept
        raise
    for k, out in enumerate(outs):
        _write_outputs(out, trainer, k, histories[k], start, end_epoch, device)
    Path(resume_file).unlink(missing_ok=True)


def _resume(resume_file, key, trainer, histories, first):
    """(histories, first epoch) to continue from: this job's resume state if there is one
    (loaded into ``trainer``), else the fresh values given."""
    state = load_resume(resume_file, key)
    if state is None:
        return histories, first
    trainer.load_state_dict(state["trainer"])
    log.info("resuming from %s at epoch %d", resume_file, state["epoch"])
    return state["histories"], state["epoch"]


def _model_from(ckpt, path, arch, device):
    model = engine.place(build_model(arch), device)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        raise RuntimeError(f"{path}: weights do not fit model.arch = {arch!r} ({err})") from err
    return model


def _check_start(ckpt, path, run, start, end_epoch):
    decay = decay_of(run.label)
    if ckpt.get("path") != MAIN:
        raise RuntimeError(f"{path}: a checkpoint of path {ckpt.get('path')!r}, expected the main path")
    if ckpt.get("seed") != run.seed:
        raise RuntimeError(f"{path}: a checkpoint of seed {ckpt.get('seed')}, expected seed {run.seed}")
    if decay is not None and ckpt["epoch"] != decay:
        raise RuntimeError(f"{path}: main-path epoch {ckpt['epoch']} checkpoint, expected epoch {decay}")
    if end_epoch <= start:
        raise RuntimeError(f"{path}: starts at epoch {start}, not before the job's end epoch {end_epoch}")
