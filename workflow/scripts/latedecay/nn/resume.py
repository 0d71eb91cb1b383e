"""In-job resume states, verified before use.

Snakemake deletes a failed job's declared outputs, so the resume state lives in files of
its own (results/.resume/...). It carries a key naming the job's start files and params,
and it is trusted only as far as it is checked: the state file ends with the SHA-256 of
its bytes (checked before torch.load), and it records each part's index, the epochs of
what the part holds and the part's SHA-256; each part records its own key, index and
epochs. Anything that does not match (another job's state, a damaged byte, a part copied
over a sibling or left from an earlier save) makes the state unusable: it is deleted with
its parts, saying why, and the job starts from its beginning.
"""

import hashlib
import io
import json
import logging
from pathlib import Path

import torch

from ..io import atomic_path, remove_stale_temps

log = logging.getLogger("latedecay.nn.resume")

# The state file is torch.save's bytes, then MAGIC and their SHA-256 (32 bytes).
MAGIC = b"latedecay-sha256"
TRAILER = len(MAGIC) + 32

# History lists that only grow and are large (a snapshot is the whole parameter vector):
# each save writes only their new items, in a part file of its own.
APPENDED = ("snapshots", "branches")
STATE_KEYS = {"key", "trainer", "epoch", "partial", "histories", "parts"}


class Unusable(Exception):
    """Why a resume state cannot be used."""


def job_key(start_files, params):
    """Identity of a job: the bytes of its start file(s) and its params."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    paths = [start_files] if isinstance(start_files, (str, Path)) else dict.fromkeys(start_files)
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _serialized(obj):
    """torch.save's bytes of ``obj`` (through a file object, as io.save_torch writes them)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def save_sealed(obj, path):
    """torch.save ``obj`` to ``path`` (atomically) with the digest trailer."""
    body = _serialized(obj)
    with atomic_path(path) as tmp:
        tmp.write_bytes(body + MAGIC + hashlib.sha256(body).digest())


def load_sealed(path):
    """What save_sealed wrote to ``path``; Unusable unless its trailer matches its bytes."""
    data = Path(path).read_bytes()
    body, magic, digest = data[:-TRAILER], data[-TRAILER:-32], data[-32:]
    if len(data) < TRAILER or magic != MAGIC:
        raise Unusable(f"{path} has no digest trailer (cut short, or written by an older version)")
    if hashlib.sha256(body).digest() != digest:
        raise Unusable(f"{path} does not match its SHA-256 trailer (damaged)")
    return _torch_load(io.BytesIO(body), path)


def _torch_load(source, path):
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt files
        raise Unusable(f"{path} is unreadable ({err})") from err


def _lengths(histories):
    """How many items each history's APPENDED lists hold."""
    return [{name: len(h[name]) for name in APPENDED} for h in histories]


def _epochs(history, start):
    """Epochs of the APPENDED items of ``history`` from positions ``start`` on."""
    return {
        "snapshots": history["snapshot_epochs"][start["snapshots"] :],
        "branches": [b["epoch"] for b in history["branches"][start["branches"] :]],
    }


class Resume:
    """A job's resume state: ``path`` (weights, momentum, the position in the epoch,
    histories without the APPENDED lists, the parts' records) and parts
    ``<path stem>.part<index>.pt`` holding what those lists gained since the previous
    save, so a long job writes each snapshot once. A part is written before the state
    that names it, so a kill between the two leaves the previous state whole."""

    def __init__(self, path, key):
        self.path, self.key = Path(path), key
        self.parts, self.saved = [], None  # part records; items of each APPENDED list written

    def _part(self, index):
        return self.path.with_name(f"{self.path.stem}.part{index}.pt")

    def save(self, trainer, epoch, histories, partial=None):
        """The state after ``epoch`` and, when it stopped mid-epoch, ``partial`` (a dict:
        the epoch under way, its steps done, their loss sum)."""
        saved = self.saved or [dict.fromkeys(APPENDED, 0) for _ in histories]
        index, part = len(self.parts) + 1, self._part(len(self.parts) + 1)
        epochs = [_epochs(h, n) for h, n in zip(histories, saved)]
        new = [{name: h[name][n[name] :] for name in APPENDED} for h, n in zip(histories, saved)]
        body = _serialized({"key": self.key, "index": index, "epochs": epochs, "appended": new})
        with atomic_path(part) as tmp:  # hashed in memory: the part is not read back
            tmp.write_bytes(body)
        record = {"name": part.name, "index": index, "epochs": epochs, "sha256": hashlib.sha256(body).hexdigest()}
        self.parts, self.saved = [*self.parts, record], _lengths(histories)
        rest = [{**h, **{name: [] for name in APPENDED}} for h in histories]  # one new list each
        save_sealed(
            {
                "key": self.key,
                "trainer": trainer.state_dict(),
                "epoch": epoch,
                "partial": partial,
                "histories": rest,
                "parts": self.parts,
            },
            self.path,
        )

    def load(self):
        """(trainer state, epoch, partial, histories) of this job's resume state, or None
        when there is none or it is unusable (then deleted with its parts, saying why)."""
        if not self.path.is_file():
            self.clear()  # parts a kill left before the first state
            return None
        try:
            return self._load()
        except Unusable as why:
            log.warning(
                "resume state %s is unusable: %s. Deleted it and its parts; the job starts from its beginning.",
                self.path,
                why,
            )
            self.clear()
            return None

    def _load(self):
        state = load_sealed(self.path)
        if not isinstance(state, dict) or state.get("key") != self.key:
            raise Unusable("it belongs to another start checkpoint or params")
        if STATE_KEYS - set(state):
            raise Unusable(f"it lacks {sorted(STATE_KEYS - set(state))} (written by another version)")
        histories = state["histories"]
        for record in state["parts"]:
            for history, items in zip(histories, self._read_part(record), strict=True):
                for name in APPENDED:
                    history[name] += items[name]
        self.parts, self.saved = list(state["parts"]), _lengths(histories)
        return state["trainer"], state["epoch"], state["partial"], histories

    def _read_part(self, record):
        """The APPENDED items of the part ``record`` names, checked against it."""
        path = self.path.with_name(record["name"])
        if not path.is_file():
            raise Unusable(f"its part {path} is missing")
        data = path.read_bytes()  # once: hashed, then loaded
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise Unusable(f"its part {path} is not the file it recorded (SHA-256 differs: damaged, or another part)")
        part = _torch_load(io.BytesIO(data), path)
        found = {k: part.get(k) for k in ("key", "index", "epochs")} if isinstance(part, dict) else {}
        if found != {"key": self.key, "index": record["index"], "epochs": record["epochs"]}:
            raise Unusable(
                f"its part {path} records index {found.get('index')}, epochs {found.get('epochs')} "
                f"instead of index {record['index']}, epochs {record['epochs']}"
            )
        return part["appended"]

    def clear(self):
        """Delete the state, its parts, and what killed writes of them left."""
        if not self.path.parent.is_dir():
            return
        folder, stem = self.path.parent, self.path.stem
        for path in [self.path, *folder.glob(f"{stem}.part*.pt"), *folder.glob(f".{stem}.part*.tmp")]:
            path.unlink(missing_ok=True)
        remove_stale_temps(self.path)
