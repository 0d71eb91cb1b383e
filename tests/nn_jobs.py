"""Helpers for the training tests: run init/segment/subpath jobs on tiny data in-process
(or as a subprocess, for the kill test) and compare their outputs bitwise."""

import logging
import sys
from pathlib import Path

import torch

from latedecay.io import load_json, load_torch
from latedecay.nn import job

TRAIN = {"seed": 7, "batch_size": 25, "momentum": 0.9, "weight_decay": 1e-4, "eval_every": 1,
         "snapshot_every": 1, "resume_every": 1, "loss": "mse", "eval_augment": False}  # fmt: skip
ARCH = "vgg_small"


def outputs(folder):
    folder = Path(folder)
    return {"checkpoint": folder / "checkpoint.pt", "metrics": folder / "metrics.json",
            "snapshots": folder / "snapshots.pt"}  # fmt: skip


def spec(path="main", lr=0.05, **overrides):
    return job.spec_from_params({**TRAIN, **overrides}, path, lr)


def init(data, folder, arch=ARCH, **overrides):
    torch.set_num_threads(1)
    job.init_main(data, arch, spec(**overrides), outputs(folder), torch.device("cpu"))
    return outputs(folder)


def segment(data, start_folder, folder, end, resume_file=None, lr=0.05, decay=None, reset=True, arch=ARCH,
            **overrides):  # fmt: skip
    torch.set_num_threads(1)
    path = "main" if decay is None else f"decay{decay}"
    resume_file = resume_file or Path(folder).parent / f"resume-{Path(folder).name}.pt"
    job.train_job(data, arch, spec(path, lr, **overrides), outputs(start_folder)["checkpoint"], end,
                  outputs(folder), torch.device("cpu"), resume_file, {"lr": lr, **overrides},
                  decay_epoch=decay, reset_momentum=reset)  # fmt: skip
    return outputs(folder)


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
    #   python nn_jobs.py TRAIN EVAL START_FOLDER FOLDER END_EPOCH RESUME_FILE
    train, evaluation, start, folder, end, resume = sys.argv[1:]
    logging.basicConfig(level=logging.INFO)
    segment({"train": train, "eval": evaluation}, start, folder, int(end), resume_file=resume)
