"""Checkpoints and branch states (job outputs), and in-job resume states (kept outside them).

A checkpoint is one run's weights and single-model SGD state at an epoch. A main-path
segment also writes branches.pt: the checkpoints at its branch epochs (nn.segments), where
subpaths start from.

Snakemake deletes a failed job's declared outputs, so the resume state lives in its own
files (results/.resume/...), carries a key naming the job's start files and params, and
is ignored (with a log line) when the key does not match.
"""

import hashlib
import json
import logging
import sys
from pathlib import Path

import torch

from ..io import load_torch, rebuild_hint, remove_stale_temps, save_torch
from ..names import MAIN, decay_of

log = logging.getLogger("latedecay.nn.checkpoint")

# No global RNG state is stored: no draw depends on one (latedecay.nn.rng).
RNG_SCHEME = "per-epoch generators keyed by (seed, run label, epoch, purpose); see latedecay.nn.rng"


def state_record(trainer, k, epoch):
    """Run k of ``trainer`` at ``epoch`` as a checkpoint (host tensors): weights and
    single-model SGD state, one format whatever the layout the run was trained in."""
    model, optimizer = trainer.single_state(k)
    run = trainer.runs[k]
    return {"model": _leaves(model, _cpu), "optimizer": _leaves(optimizer, _cpu), "rng_scheme": RNG_SCHEME, "epoch": epoch,
            "path": run.label, "seed": run.seed, "decay_epoch": decay_of(run.label)}  # fmt: skip


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
        raise RuntimeError(f"{', '.join(map(str, dict.fromkeys(paths)))}: no main-path state at (seed, epoch) "
                           f"{missing} (they hold {sorted(found)}); {rebuild_hint(paths[0])}")  # fmt: skip
    return [found[w] for w in wanted]


def job_key(start_files, params):
    """Identity of a job: the bytes of its start file(s) and its params."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    paths = [start_files] if isinstance(start_files, (str, Path)) else dict.fromkeys(start_files)
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# History lists that only grow and are large (a snapshot is the whole parameter vector):
# each resume save writes only their new items, in a part file of its own.
APPENDED = ("snapshots", "branches")


def _lengths(histories):
    """How many items each history's APPENDED lists hold."""
    return [{name: len(h[name]) for name in APPENDED} for h in histories]


class Resume:
    """A job's resume state: ``path`` (weights, momentum, histories without the APPENDED
    lists, the parts' names) and parts ``<path stem>.part<epoch>.pt`` holding what those
    lists gained since the previous save. A long job thus writes each snapshot once,
    instead of all of them again at every save. A part is written before the state that
    names it, so a kill between the two leaves the previous state whole."""

    def __init__(self, path, key):
        self.path, self.key = Path(path), key
        self.parts, self.saved = [], None  # part names; items of each APPENDED list written

    def _part(self, epoch):
        return self.path.with_name(f"{self.path.stem}.part{epoch}.pt")

    def save(self, trainer, epoch, histories):
        saved = self.saved or [dict.fromkeys(APPENDED, 0) for _ in histories]
        new = [{name: h[name][n[name]:] for name in APPENDED} for h, n in zip(histories, saved)]
        part = self._part(epoch)
        save_torch({"key": self.key, "epoch": epoch, "appended": new}, part)
        self.parts = [*self.parts, part.name]
        self.saved = _lengths(histories)
        rest = [{**h, **{name: [] for name in APPENDED}} for h in histories]  # one new list each
        save_torch({"key": self.key, "trainer": trainer.state_dict(), "epoch": epoch, "histories": rest,
                    "parts": self.parts}, self.path)  # fmt: skip

    def load(self):
        """(trainer state, epoch, histories) if a whole resume state of this job is there, else
        None, having deleted what is there (another job's, or incomplete)."""
        state = self._read(self.path)
        if state is None:
            self.clear()
            return None
        histories = state["histories"]
        for name in state["parts"]:
            part = self._read(self.path.with_name(name))
            if part is None:
                log.warning("ignoring resume state %s: its part %s is missing or unreadable", self.path, name)
                self.clear()
                return None
            for history, appended in zip(histories, part["appended"], strict=True):
                for key in APPENDED:
                    history[key] += appended[key]
        self.parts = list(state["parts"])
        self.saved = _lengths(histories)
        return state["trainer"], state["epoch"], histories

    def _read(self, path):
        if not path.is_file():
            return None
        try:
            record = load_torch(path)
        except RuntimeError as err:
            log.warning("ignoring unreadable resume state: %s", err)
            return None
        if not isinstance(record, dict) or record.get("key") != self.key:
            log.warning("ignoring resume state %s: it belongs to another start checkpoint or params", path)
            return None
        if path == self.path and "parts" not in record:
            log.warning("ignoring resume state %s: written by an older version", path)
            return None
        return record

    def clear(self):
        """Delete the state, its parts, and what killed writes of them left."""
        if not self.path.parent.is_dir():
            return
        folder, stem = self.path.parent, self.path.stem
        for path in [self.path, *folder.glob(f"{stem}.part*.pt"), *folder.glob(f".{stem}.part*.tmp")]:
            path.unlink(missing_ok=True)
        remove_stale_temps(self.path)
