"""Helpers for the training tests: run init/segment/subpath jobs on tiny data in-process
(or as a subprocess, for the kill and signal tests) and compare their outputs."""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from latedecay.io import load_json, load_torch
from latedecay.names import run_label
from latedecay.nn import job
from latedecay.nn.resume import load_sealed
from latedecay.nn.schedule import Schedule
from latedecay.nn.settings import TrainSettings
from latedecay.nn.trainer import Run

TRAIN = {
    "arch": "vgg_small",
    "loss": "mse",
    "eval_augment": False,
    "batch_size": 25,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "eval_every": 1,
    "snapshot_every": 1,
    "resume_every": 1,
    "device": "cpu",
    "threads": 1,
    "compile": "off",
    "precision": "fp32",
    "compile_cache": "results/.compile-cache",
    "deterministic": True,
}
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
    return {
        "checkpoint": folder / "checkpoint.pt",
        "metrics": folder / "metrics.json",
        "snapshots": folder / "snapshots.pt",
    }


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


def segment(data, start_folder, folder, end, resume_file=None, lr=0.05, seed=SEED, branch_epochs=None, **overrides):
    """A main-path segment from ``start_folder``'s checkpoint to epoch ``end``, keeping its
    states at ``branch_epochs`` (default: its end, as with main.branch_every null)."""
    torch.set_num_threads(1)
    resume_file = resume_file or Path(folder).parent / f"resume-{Path(folder).name}.pt"
    branch_epochs = [end] if branch_epochs is None else branch_epochs
    plan = job.Plan(
        [Run(seed, "main")],
        Schedule(lr),
        [outputs(start_folder)["checkpoint"]],
        end,
        resume_file,
        branch_epochs=frozenset(branch_epochs),
    )
    job.train_job(
        data, settings(**overrides), plan, [main_outputs(folder)], torch.device("cpu"), {"lr": lr, **overrides}
    )
    return main_outputs(folder)


def subpaths(data, branches, folders, epochs, lr=0.01, reset=True, resume_file=None, schedule=None, **overrides):
    """One job training the subpaths ``branches`` = [(seed, main-path folder whose branches.pt
    holds the decay epoch, decay epoch)], at the constant ``lr`` unless a ``schedule`` is given."""
    torch.set_num_threads(1)
    runs = [Run(seed, run_label(decay)) for seed, _, decay in branches]
    starts = list(dict.fromkeys(main_outputs(folder)["branches"] for _, folder, _ in branches))
    resume_file = resume_file or Path(folders[0]).parent / f"resume-{Path(folders[0]).name}.pt"
    plan = job.Plan(runs, schedule or Schedule(lr), starts, epochs, resume_file, reset_momentum=reset)
    job.train_job(
        data,
        settings(**overrides),
        plan,
        [outputs(f) for f in folders],
        torch.device("cpu"),
        {"lr": lr, "schedule": repr(schedule), "runs": [r.label for r in runs], **overrides},
    )
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


def _job_command(args):
    """(command, environment) running this file's __main__ job with ARGS."""
    tests = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": str(tests.parent / "workflow" / "scripts"), "OMP_NUM_THREADS": "1"}
    return [sys.executable, str(tests / "nn_jobs.py"), *map(str, args)], env


def signal_when_resumable(args, resume, sig):
    """Run the job ARGS as a subprocess, send it ``sig`` once it has written a resume
    state, wait for it; (returncode, stderr)."""
    cmd, env = _job_command(args)
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not resume.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "job ended before a resume state appeared"
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def rerun(args):
    """Run the job ARGS to its end as a subprocess; its stderr."""
    cmd, env = _job_command(args)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stderr


def kill_and_resume(args, resume):
    """Run the job ARGS, SIGKILL it once a resume state exists, rerun it; the epoch it was killed at."""
    returncode, _ = signal_when_resumable(args, resume, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    killed_at = load_sealed(resume)["epoch"]
    assert f"resuming from {resume} at epoch {killed_at}" in rerun(args)
    assert not resume.exists()  # deleted on success
    return killed_at


if __name__ == "__main__":
    # The kill and signal tests' subprocess (PYTHONPATH=workflow/scripts):
    #   python nn_jobs.py TRAIN EVAL START_FOLDER FOLDER END_EPOCH RESUME_FILE [DECAY ...] [--KEY=VALUE ...]
    # With decay epochs: one job training those subpaths of START_FOLDER/epoch<D>, into FOLDER/decay<D>.
    # Without: a main-path segment keeping a branch state at every epoch. --KEY=VALUE: a
    # string setting of TRAIN overridden (--precision=bf16).
    overrides = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    train, evaluation, start, folder, end, resume, *decays = [a for a in sys.argv[1:] if not a.startswith("--")]
    logging.basicConfig(level=logging.INFO)
    data = {"train": train, "eval": evaluation}
    if decays:
        branches = [(SEED, Path(start) / f"epoch{d}", int(d)) for d in decays]
        subpaths(
            data, branches, [Path(folder) / f"decay{d}" for d in decays], int(end), resume_file=resume, **overrides
        )
    else:
        segment(data, start, folder, int(end), resume_file=resume, branch_epochs=range(1, int(end) + 1), **overrides)
