"""Checkpoints and branch states (job outputs; in-job resume states are nn.resume's).

A checkpoint is one run's weights and single-model SGD state at an epoch. A main-path
segment also writes branches.pt: the checkpoints at its branch epochs (nn.segments), where
subpaths start from.
"""

import sys

import torch

from ..io import load_torch, rebuild_hint, save_torch
from ..names import MAIN, decay_of

# No global RNG state is stored: no draw depends on one (latedecay.nn.rng).
RNG_SCHEME = "per-epoch generators keyed by (seed, run label, epoch, purpose); see latedecay.nn.rng"


def state_record(trainer, k, epoch):
    """Run k of ``trainer`` at ``epoch`` as a checkpoint (host tensors): weights and
    single-model SGD state, one format whatever the layout the run was trained in."""
    model, optimizer = trainer.single_state(k)
    run = trainer.runs[k]
    return {
        "model": _leaves(model, _cpu),
        "optimizer": _leaves(optimizer, _cpu),
        "rng_scheme": RNG_SCHEME,
        "epoch": epoch,
        "path": run.label,
        "seed": run.seed,
        "decay_epoch": decay_of(run.label),
    }


def _leaves(value, fn):
    """``value`` (nested dicts, lists, tuples) with ``fn`` applied to every leaf and dict key."""
    if isinstance(value, dict):
        return {fn(k): _leaves(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_leaves(v, fn) for v in value)
    return fn(value)


def _cpu(leaf):
    return leaf.cpu() if isinstance(leaf, torch.Tensor) else leaf


def _intern(leaf):
    return sys.intern(leaf) if isinstance(leaf, str) else leaf


def save_checkpoint(path, trainer, k, epoch):
    save_torch(state_record(trainer, k, epoch), path)


def load_checkpoint(path):
    ckpt = load_torch(path)
    _require_checkpoint(ckpt, path)
    return ckpt


def _require_checkpoint(ckpt, path):
    missing = {"model", "optimizer", "epoch"} - set(ckpt) if isinstance(ckpt, dict) else {"model"}
    if missing:
        raise RuntimeError(f"{path}: not a latedecay checkpoint (missing {sorted(missing)}); {rebuild_hint(path)}")


def save_branches(path, states):
    """A segment's branch states (checkpoints, in epoch order). Strings are interned so the
    pickle shares each one alike whether a state was made in this process or came back
    from a resume part: the bytes do not depend on a kill."""
    save_torch(_leaves({"path": MAIN, "states": states}, _intern), path)


def load_branches(paths, wanted):
    """The branch state of each (seed, epoch) in ``wanted``, and the file it came from:
    [(checkpoint, path)]. Each file is read once, however many of them it holds."""
    found = {}
    for path in dict.fromkeys(paths):
        record = load_torch(path)
        if not isinstance(record, dict) or not isinstance(record.get("states"), list):
            raise RuntimeError(f"{path}: not a latedecay branches file; {rebuild_hint(path)}")
        for ckpt in record["states"]:
            _require_checkpoint(ckpt, path)
            found[ckpt.get("seed"), ckpt["epoch"]] = (ckpt, path)
    missing = [w for w in wanted if w not in found]
    if missing:
        raise RuntimeError(
            f"{', '.join(map(str, dict.fromkeys(paths)))}: no main-path state at (seed, epoch) "
            f"{missing} (they hold {sorted(found)}); {rebuild_hint(paths[0])}"
        )
    return [found[w] for w in wanted]
