"""Helpers for the training tests: run init/segment/subpath jobs on tiny data in-process
(or as a subprocess, for the kill test) and compare their outputs."""

import contextlib
import logging
import sys
from pathlib import Path

import torch

from latedecay.io import load_json, load_torch
from latedecay.names import run_label
from latedecay.nn import job
from latedecay.nn.settings import TrainSettings
from latedecay.nn.trainer import Run

TRAIN = {"arch": "vgg_small", "loss": "mse", "eval_augment": False, "batch_size": 25, "momentum": 0.9,
         "weight_decay": 1e-4, "eval_every": 1, "snapshot_every": 1, "resume_every": 1, "device": "cpu",
         "threads": 1, "compile": "off", "precision": "fp32", "compile_cache": "results/.compile-cache"}  # fmt: skip
SEED = 7


def settings(**overrides):
    return TrainSettings.from_params({**TRAIN, **overrides})


@contextlib.contextmanager
def float64():
    """Models and data built in float64 inside, float32 again after."""
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(torch.float32)


def outputs(folder):
    folder = Path(folder)
    return {"checkpoint": folder / "checkpoint.pt", "metrics": folder / "metrics.json",
            "snapshots": folder / "snapshots.pt"}  # fmt: skip


def main_outputs(folder):
    """A main-path job's outputs: a run's three, and its branch states."""
    return {**outputs(folder), "branches": Path(folder) / "branches.pt"}


def tiny_main(folder):
    """Tiny prepared data in ``folder`` and the main path's epoch-0 checkpoint; (folder, data)."""
    from tiny_cifar import write_tiny_prepared

    data = write_tiny_prepared(folder)
    init(data, Path(folder) / "epoch0")
    return Path(folder), data


def init(data, folder, seed=SEED, **overrides):
    torch.set_num_threads(1)
    job.init_main(data, settings(**overrides), seed, main_outputs(folder), torch.device("cpu"))
    return main_outputs(folder)


def segment(data, start_folder, folder, end, resume_file=None, lr=0.05, seed=SEED, branch_epochs=None,
            **overrides):  # fmt: skip
    """A main-path segment from ``start_folder``'s checkpoint to epoch ``end``, keeping its
    states at ``branch_epochs`` (default: its end, as with main.branch_every null)."""
    torch.set_num_threads(1)
    resume_file = resume_file or Path(folder).parent / f"resume-{Path(folder).name}.pt"
    branch_epochs = [end] if branch_epochs is None else branch_epochs
    job.train_job(data, settings(**overrides), [Run(seed, "main")], lr, [outputs(start_folder)["checkpoint"]], end,
                  [main_outputs(folder)], torch.device("cpu"), resume_file, {"lr": lr, **overrides},
                  branch_epochs=branch_epochs)  # fmt: skip
    return main_outputs(folder)


def subpaths(data, branches, folders, epochs, lr=0.01, reset=True, resume_file=None, **overrides):
    """One job training the subpaths ``branches`` = [(seed, main-path folder whose branches.pt
    holds the decay epoch, decay epoch)]."""
    torch.set_num_threads(1)
    runs = [Run(seed, run_label(decay)) for seed, _, decay in branches]
    starts = list(dict.fromkeys(main_outputs(folder)["branches"] for _, folder, _ in branches))
    resume_file = resume_file or Path(folders[0]).parent / f"resume-{Path(folders[0]).name}.pt"
    job.train_job(data, settings(**overrides), runs, lr, starts, epochs, [outputs(f) for f in folders],
                  torch.device("cpu"), resume_file, {"lr": lr, "runs": [r.label for r in runs], **overrides},
                  reset_momentum=reset)  # fmt: skip
    return [outputs(f) for f in folders]


def assert_state_equal(a, b):
    """Bitwise equality of nested dicts/lists of tensors."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_state_equal(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_state_equal(x, y)
    else:
        assert a == b


def same_checkpoint(a, b):
    ca, cb = load_torch(a["checkpoint"]), load_torch(b["checkpoint"])
    assert_state_equal(ca["model"], cb["model"])
    assert_state_equal(ca["optimizer"], cb["optimizer"])
    assert ca["epoch"] == cb["epoch"]


def metrics(out):
    return load_json(out["metrics"])


if __name__ == "__main__":
    # The kill test's subprocess (PYTHONPATH=workflow/scripts):
    #   python nn_jobs.py TRAIN EVAL START_FOLDER FOLDER END_EPOCH RESUME_FILE [DECAY ...]
    # With decay epochs: one job training those subpaths of START_FOLDER/epoch<D>, into FOLDER/decay<D>.
    # Without: a main-path segment keeping a branch state at every epoch.
    train, evaluation, start, folder, end, resume, *decays = sys.argv[1:]
    logging.basicConfig(level=logging.INFO)
    data = {"train": train, "eval": evaluation}
    if decays:
        branches = [(SEED, Path(start) / f"epoch{d}", int(d)) for d in decays]
        subpaths(data, branches, [Path(folder) / f"decay{d}" for d in decays], int(end), resume_file=resume)
    else:
        segment(data, start, folder, int(end), resume_file=resume, branch_epochs=range(1, int(end) + 1))
