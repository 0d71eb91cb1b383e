"""The workflow's vocabulary, defined once: run labels and metric names.

A run is the main path or one subpath; its label keys its random streams
(``nn.rng``), names it in metrics and snapshot files, and tags it in figures.
"""

import re

MAIN = "main"
_SUBPATH = re.compile(r"decay(\d+)")

# Full-pass evaluations logged every train.eval_every epochs (metrics.json "eval").
EVAL_METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


def run_label(decay_epoch=None):
    """ "main" for the main path, "decay<E>" for the subpath branching at epoch E."""
    return MAIN if decay_epoch is None else f"decay{int(decay_epoch)}"


def decay_of(label):
    """The decay epoch of a run label (None for the main path)."""
    if label == MAIN:
        return None
    match = _SUBPATH.fullmatch(label)
    if not match:
        raise ValueError(f"not a run label: {label!r} (expected 'main' or 'decay<epoch>')")
    return int(match[1])
