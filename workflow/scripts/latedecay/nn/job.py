"""One Snakemake training job end to end: the initial main checkpoint, a main-path
segment, or a subpath. Entry scripts call these with values from ``snakemake.params``."""

import logging
from pathlib import Path

import torch

from ..io import save_json, save_torch
from . import engine
from .checkpoint import job_key, load_checkpoint, load_resume, save_checkpoint, save_resume
from .data import load_sets
from .models import build_model, num_params
from .packed import Pack, train_epoch_packed

log = logging.getLogger("latedecay.nn.job")


def setup(device, threads):
    """Resolve train.device ("auto" = cuda when available) and the CPU thread count."""
    if threads:
        torch.set_num_threads(int(threads))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but torch sees no CUDA device")
    log.info("device %s, %d CPU threads, torch %s", device, torch.get_num_threads(), torch.__version__)
    return torch.device(device)


def _apply_hyper(optimizer, spec):
    # Loaded optimizer states carry the old path's hyperparameters; the job's params win.
    for group in optimizer.param_groups:
        group.update(lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)


def _write_outputs(out, model, optimizer, history, spec, decay_epoch, start, end, device):
    save_torch(engine.snapshots_record(history, spec.path, decay_epoch, num_params(model)), out["snapshots"])
    save_json(engine.metrics_record(history, spec.path, decay_epoch, start, end, device), out["metrics"])
    save_checkpoint(out["checkpoint"], model, optimizer, end, spec.path, decay_epoch)  # last: marks success


def init_main(data, arch, spec, out, device):
    """Epoch 0 of the main path: seeded init, evaluation and snapshot of the initial model."""
    sets = load_sets(data["train"], data["eval"], device)
    torch.manual_seed(spec.seed)
    model = engine.place(build_model(arch), device)
    optimizer = engine.make_optimizer(model, spec)
    history = engine.new_history()
    engine.record_eval(history, model, sets, spec, 0)
    engine.record_snapshot(history, model, 0)
    log.info("initial model: %d parameters, eval %s", num_params(model), history["eval"])
    _write_outputs(out, model, optimizer, history, spec, None, 0, 0, device)


def train_job(data, arch, spec, start_checkpoint, end_epoch, out, device, resume_file, key_params,
              decay_epoch=None, reset_momentum=True):  # fmt: skip
    """Train one main-path segment (decay_epoch None) or one subpath (epochs counted after
    the decay), resuming from ``resume_file`` when it belongs to this job; delete it on success."""
    sets = load_sets(data["train"], data["eval"], device)
    ckpt = load_checkpoint(start_checkpoint)
    model = _model_from(ckpt, start_checkpoint, arch, device)
    optimizer = engine.make_optimizer(model, spec)
    if decay_epoch is None or not reset_momentum:
        optimizer.load_state_dict(ckpt["optimizer"])
    _apply_hyper(optimizer, spec)
    start = ckpt["epoch"] if decay_epoch is None else 0
    _check_start(ckpt, start_checkpoint, decay_epoch, start, end_epoch)
    key = job_key(start_checkpoint, key_params)
    history, first = _resume(resume_file, key, model, optimizer, engine.new_history(), start)
    engine.run(
        lambda epoch: engine.train_epoch(model, optimizer, sets[0], spec, epoch).reshape(1),
        lambda k: model, sets, [spec], first, end_epoch, [history],
        lambda epoch: save_resume(resume_file, key, model, optimizer, epoch, history),
    )  # fmt: skip
    _write_outputs(out, model, optimizer, history, spec, decay_epoch, start, end_epoch, device)
    Path(resume_file).unlink(missing_ok=True)


def _resume(resume_file, key, module, optimizer, history, first):
    """(history, first epoch) to continue from: this job's resume state if there is one
    (loaded into ``module`` and ``optimizer``), else the fresh values given."""
    state = load_resume(resume_file, key)
    if state is None:
        return history, first
    module.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    log.info("resuming from %s at epoch %d", resume_file, state["epoch"])
    return state["history"], state["epoch"]


def _model_from(ckpt, path, arch, device):
    model = engine.place(build_model(arch), device)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        raise RuntimeError(f"{path}: weights do not fit model.arch = {arch!r} ({err})") from err
    return model


def _check_start(ckpt, path, decay_epoch, start, end_epoch):
    if ckpt.get("path") != "main":
        raise RuntimeError(f"{path}: a checkpoint of path {ckpt.get('path')!r}, expected the main path")
    if decay_epoch is not None and ckpt["epoch"] != decay_epoch:
        raise RuntimeError(f"{path}: main-path epoch {ckpt['epoch']} checkpoint, expected epoch {decay_epoch}")
    if end_epoch <= start:
        raise RuntimeError(f"{path}: starts at epoch {start}, not before the job's end epoch {end_epoch}")


def spec_from_params(train, path, lr):
    """An engine.Spec from the rules' shared ``train`` params dict (nn_train_params)."""
    fields = ("seed", "momentum", "weight_decay", "batch_size", "loss", "eval_every", "snapshot_every",
              "resume_every", "eval_augment")  # fmt: skip
    return engine.Spec(path=path, lr=float(lr), **{k: train[k] for k in fields})


def train_pack_job(data, arch, specs, start_checkpoints, end_epoch, outs, device, resume_file, key_params,
                   decays, reset_momentum=True):  # fmt: skip
    """Subpaths branching at ``decays`` trained together (packed.Pack); one output set per
    decay epoch, in the same format as train_job's."""
    sets = load_sets(data["train"], data["eval"], device)
    models, ckpts = [], []
    for path, decay in zip(start_checkpoints, decays):
        ckpts.append(load_checkpoint(path))
        _check_start(ckpts[-1], path, decay, 0, end_epoch)
        models.append(_model_from(ckpts[-1], path, arch, device))
    pack = Pack(models)
    optimizer = pack.optimizer(specs[0])
    if not reset_momentum:
        pack.load_momentum(optimizer, [c["optimizer"] for c in ckpts])
    key = job_key(start_checkpoints, key_params)
    histories, first = _resume(resume_file, key, pack, optimizer, [engine.new_history() for _ in decays], 0)
    scratch = engine.place(build_model(arch), device)
    engine.run(
        lambda epoch: train_epoch_packed(pack, optimizer, sets[0], specs, epoch),
        lambda k: pack.load_into(k, scratch), sets, specs, first, end_epoch, histories,
        lambda epoch: save_resume(resume_file, key, pack, optimizer, epoch, histories),
    )  # fmt: skip
    for k, (out, spec, decay) in enumerate(zip(outs, specs, decays)):
        model = pack.load_into(k, engine.place(build_model(arch), device))
        single = pack.unpacked_optimizer(optimizer, k, model, spec)
        _write_outputs(out, model, single, histories[k], spec, decay, 0, end_epoch, device)
    Path(resume_file).unlink(missing_ok=True)
