"""Checkpoints (job outputs) and in-job resume states (kept outside the outputs).

Snakemake deletes a failed job's declared outputs, so the resume state lives in its own
file (results/.resume/...), carries a key naming the job's start checkpoint and params,
and is ignored (with a log line) when the key does not match.
"""

import hashlib
import json
import logging
from pathlib import Path

from ..io import load_torch, rebuild_hint, save_torch
from ..names import decay_of

log = logging.getLogger("latedecay.nn.checkpoint")

# No global RNG state is stored: no draw depends on one (latedecay.nn.rng).
RNG_SCHEME = "per-epoch generators keyed by (seed, run label, epoch, purpose); see latedecay.nn.rng"


def save_checkpoint(path, trainer, k, epoch):
    """Run k of ``trainer`` at ``epoch``: weights and single-model SGD state, one format
    whatever the layout the run was trained in."""
    model, optimizer = trainer.single_state(k)
    run = trainer.runs[k]
    save_torch(
        {"model": model, "optimizer": optimizer, "rng_scheme": RNG_SCHEME, "epoch": epoch, "path": run.label,
         "seed": run.seed, "decay_epoch": decay_of(run.label)},
        path,
    )  # fmt: skip


def load_checkpoint(path):
    ckpt = load_torch(path)
    missing = {"model", "optimizer", "epoch"} - set(ckpt) if isinstance(ckpt, dict) else {"model"}
    if missing:
        raise RuntimeError(f"{path}: not a latedecay checkpoint (missing {sorted(missing)}); {rebuild_hint(path)}")
    return ckpt


def job_key(start_checkpoints, params):
    """Identity of a job: the bytes of its start checkpoint(s) and its params."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    paths = [start_checkpoints] if isinstance(start_checkpoints, (str, Path)) else start_checkpoints
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def save_resume(path, key, trainer, epoch, histories):
    """The trainer's weights and momentum and the runs' histories after ``epoch``."""
    save_torch({"key": key, "trainer": trainer.state_dict(), "epoch": epoch, "histories": histories}, path)


def load_resume(path, key):
    """The resume state at ``path`` if it belongs to this job, else None."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = load_torch(path)
    except RuntimeError as err:
        log.warning("ignoring unreadable resume state: %s", err)
        return None
    if state.get("key") != key:
        log.warning("ignoring resume state %s: it belongs to another start checkpoint or params", path)
        return None
    return state
