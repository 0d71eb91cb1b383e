"""The metrics.json contract: what a training job writes and Fig. 1 reads, defined once.

One file per main-path segment and per subpath. The training jobs build a ``Metrics``
(nn.engine.metrics_record) and write it with ``save``; the figure rules read it with
``load``. Both check the same structure (``check``), so writer and reader cannot drift.
``load`` also refuses non-finite losses and accuracies, naming the file, the run and the
epoch: the writer keeps them (they say what went wrong), the analysis cannot use them.
"""

import math
import types
import typing
from dataclasses import asdict, dataclass, fields, make_dataclass

from .io import load_json, save_json
from .names import EVAL_METRICS, decay_of


class MetricsError(ValueError):
    """A metrics.json file (or record) that breaks the contract; the message names it."""


# Full-pass evaluations every train.eval_every epochs: their epochs and one list per metric.
Evals = make_dataclass("Evals", [("epoch", list[int]), *((m, list[float]) for m in EVAL_METRICS)], frozen=True)


@dataclass(frozen=True)
class Metrics:
    path: str  # run label: "main" or "decay<E>" (names.run_label)
    seed: int
    decay_epoch: int | None  # None for the main path
    start_epoch: int  # the job trains epochs start+1 .. end (a subpath counts after its decay)
    end_epoch: int
    epochs: list[int]
    train_batch_loss: list[float]  # mean mini-batch loss (train mode) of each epoch
    eval: Evals
    lr: float
    precision: str
    compile: str
    device: str  # no wall-clock field: identical runs write identical files (speed is in the job log)

    @property
    def run(self):
        return f"run {self.path} (seed {self.seed})"


def _conforms(value, hint):
    """Whether a JSON value has the annotated type (bools are no numbers; ints are floats)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_conforms(value, h) for h in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    return isinstance(value, (int, float) if hint is float else hint)


def _expect(ok, where, message):
    if not ok:
        raise MetricsError(f"{where}: {message}")


def _typed(cls, data, where, prefix=""):
    """``cls`` built from a JSON object whose keys are exactly its fields, each of its type."""
    _expect(isinstance(data, dict), where, f"'{prefix or 'file'}' is not a JSON object")
    names = [f.name for f in fields(cls)]
    missing, unknown = [n for n in names if n not in data], sorted(set(data) - set(names))
    _expect(not missing, where, f"missing field(s) {', '.join(prefix + n for n in missing)}")
    _expect(not unknown, where, f"unknown field(s) {', '.join(prefix + n for n in unknown)}")
    for f in fields(cls):
        if f.type is not Evals:
            _expect(_conforms(data[f.name], f.type), where, f"'{prefix}{f.name}' is not of type {f.type}")
    return data


def from_json(data, where):
    """A ``Metrics`` from a parsed metrics.json; ``where`` names it in errors."""
    data = _typed(Metrics, data, where)
    record = Metrics(**{**data, "eval": Evals(**_typed(Evals, data["eval"], where, "eval."))})
    check(record, where)
    return record


def check(m, where):
    """The relations between fields that types alone do not state."""
    try:
        decay = decay_of(m.path)
    except ValueError as err:
        raise MetricsError(f"{where}: {err}") from None
    _expect(m.decay_epoch == decay, where, f"'decay_epoch' is {m.decay_epoch!r}, its run {m.path!r} says {decay}")
    start, end = m.start_epoch, m.end_epoch
    _expect(m.epochs == list(range(start + 1, end + 1)), where, f"'epochs' is not {start + 1}..{end}")
    _expect(len(m.train_batch_loss) == len(m.epochs), where, "'train_batch_loss' and 'epochs' differ in length")
    ev = m.eval.epoch
    for name in EVAL_METRICS:
        _expect(len(getattr(m.eval, name)) == len(ev), where, f"'eval.{name}' and 'eval.epoch' differ in length")
    _expect(all(a < b for a, b in zip(ev, ev[1:])), where, "'eval.epoch' is not increasing")
    _expect(all(start <= e <= end for e in ev), where, f"'eval.epoch' outside {start}..{end}")


def require_finite(m, where):
    """Stop at the first NaN or infinite loss or accuracy, naming the run and the epoch."""
    series = [("train_batch_loss", m.epochs, m.train_batch_loss)]
    series += [(f"eval.{name}", m.eval.epoch, getattr(m.eval, name)) for name in EVAL_METRICS]
    for name, epochs, values in series:
        for epoch, value in zip(epochs, values):
            _expect(math.isfinite(value), where, f"{m.run}: '{name}' is {value} at epoch {epoch}")


def save(m, path):
    """Write a ``Metrics`` as metrics.json (atomically), after checking it."""
    check(m, path)
    save_json(asdict(m), path)


def load(path):
    """Read and check one metrics.json: a ``Metrics`` with finite losses and accuracies."""
    m = from_json(load_json(path), path)
    require_finite(m, path)
    return m
