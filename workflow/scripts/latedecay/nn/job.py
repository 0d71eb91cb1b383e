"""One Snakemake training job end to end: the initial main checkpoint, a main-path
segment, or a pack of K >= 1 subpaths. Entry scripts call these with ``snakemake.params``.

Outputs per run: checkpoint, metrics and snapshots; a main-path job adds branches (its
states at its branch epochs, nn.segments), which the subpaths start from."""

import logging
from dataclasses import asdict, dataclass

import torch

from .. import metrics
from ..io import save_torch
from ..names import MAIN, decay_of
from . import engine
from .checkpoint import load_branches, load_checkpoint, save_branches, save_checkpoint, state_record
from .data import load_sets
from .interrupt import stop_requests
from .models import build_model, num_params
from .resume import Resume, job_key
from .schedule import Schedule
from .trainer import Partial, Run, Trainer

log = logging.getLogger("latedecay.nn.job")

BRANCHES = "branches"  # the output a main-path job adds to checkpoint, metrics, snapshots


def paths(item):
    """A Snakemake input/output item (one path, or a list of them) as a list of paths."""
    return [item] if isinstance(item, str) else list(item)


@dataclass(frozen=True)
class Plan:
    """What one training job trains: its runs (one "main", or K subpaths), their learning
    rate schedule, the files they start from, the run epoch it ends at, its resume state,
    whether subpaths start with zero momentum, and the epochs whose states a main-path
    segment keeps (branches.pt)."""

    runs: list
    schedule: Schedule
    starts: list
    end_epoch: int
    resume_file: str
    reset_momentum: bool = True
    branch_epochs: frozenset = frozenset()

    @classmethod
    def from_params(cls, params, starts):
        """The plan of a train_main or train_subpath* job from its params and its start input."""
        return cls(
            [Run(int(seed), label) for seed, label in params.runs],
            Schedule.from_params(params.schedule),
            paths(starts),
            int(params.end_epoch),
            params.resume_file,
            params.reset_momentum,
            frozenset(params.branch_epochs),
        )


def _write_outputs(out, trainer, k, history, start, end, device):
    run = trainer.runs[k]
    save_torch(engine.snapshots_record(history, run, trainer.flat_params(k).numel()), out["snapshots"])
    metrics.save(
        engine.metrics_record(history, run, start, end, device, trainer.schedule.lr, trainer.settings), out["metrics"]
    )
    if BRANCHES in out:
        save_branches(out[BRANCHES], history["branches"])
    save_checkpoint(out["checkpoint"], trainer, k, end)  # last: marks success


def init_main(data, settings, seed, out, device):
    """Epoch 0 of the main path: seeded init, evaluation and snapshot of the initial model."""
    sets = load_sets(data["train"], data["eval"], device)
    torch.manual_seed(seed)
    model = engine.place(build_model(settings.arch), device)
    trainer = Trainer.create([model], [Run(seed, MAIN)], settings, Schedule(0.0))  # each segment sets its lr
    history = engine.new_history()
    engine.record(history, trainer, 0, sets, 0)
    history["branches"].append(state_record(trainer, 0, 0))  # epoch 0 is a branch epoch
    log.info("initial model: %d parameters, eval %s", num_params(model), history["eval"])
    _write_outputs(out, trainer, 0, history, 0, 0, device)


def train_job(data, settings, plan, outs, device, key_params):
    """Train the ``plan``: one main-path segment (one run "main", from the previous
    segment's checkpoint, keeping its states at the branch epochs) or K subpaths (from the
    main path's branch states at their decay epochs, in the branches files of
    ``plan.starts``; epochs counted after the decay), resuming from the plan's resume file
    when it belongs to this job (``key_params``); delete it on success. SIGTERM or SIGUSR1
    saves the resume state at the next step and raises Interrupted."""
    with stop_requests() as stop:  # from the start: a signal during the set-up stops after one step
        sets = load_sets(data["train"], data["eval"], device)
        trainer, start = _trainer(settings, plan, device)
        resume = Resume(plan.resume_file, job_key(plan.starts, key_params))
        histories, first, partial = _resume(resume, trainer, [engine.new_history() for _ in plan.runs], start)

        def save_state(epoch, partial):
            resume.save(trainer, epoch, histories, partial and asdict(partial))

        epochs = range(first + 1, plan.end_epoch + 1)
        try:
            engine.run(trainer, sets, epochs, histories, save_state, plan.branch_epochs, partial, stop)
            if not trainer.all_finite():
                raise engine.TrainingDiverged(
                    f"non-finite weights after epoch {plan.end_epoch} (lr {trainer.lr:g}); no outputs written"
                )
        except engine.TrainingDiverged:
            resume.clear()  # nothing of a diverged run is kept
            raise
        for k, out in enumerate(outs):
            _write_outputs(out, trainer, k, histories[k], start, plan.end_epoch, device)
        resume.clear()


def _trainer(settings, plan, device):
    """(trainer, start epoch) of the job: its models from the start checkpoint or branch states."""
    runs, starts = plan.runs, plan.starts
    main = runs[0].label == MAIN
    if main and len(runs) != 1 or not main and any(r.label == MAIN for r in runs):
        raise ValueError("a main-path segment trains one run, and never with subpaths")
    if main:
        origins = [(load_checkpoint(starts[0]), starts[0])]
    else:
        origins = load_branches(starts, [(r.seed, decay_of(r.label)) for r in runs])
    start = origins[0][0]["epoch"] if main else 0
    for (ckpt, path), run in zip(origins, runs, strict=True):
        _check_start(ckpt, path, run, start, plan.end_epoch)
    models = [_model_from(ckpt, path, settings.arch, device) for ckpt, path in origins]
    trainer = Trainer.create(models, runs, settings, plan.schedule)
    if main or not plan.reset_momentum:
        trainer.load_momentum([ckpt["optimizer"] for ckpt, _ in origins])
    return trainer, start


def _resume(resume, trainer, histories, first):
    """(histories, first epoch, Partial or None) to continue from: this job's resume state
    if there is one (loaded into ``trainer``), else the fresh values given."""
    state = resume.load()
    if state is None:
        return histories, first, None
    trainer_state, epoch, partial, histories = state
    trainer.load_state_dict(trainer_state)
    if partial is None:
        log.info("resuming from %s at epoch %d", resume.path, epoch)
        return histories, epoch, None
    log.info("resuming from %s at epoch %d, step %d", resume.path, partial["epoch"], partial["step"])
    return histories, epoch, Partial(**partial)


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
