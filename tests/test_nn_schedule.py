"""The learning-rate schedule: closed forms of ``lr_at``, the rate the engine sets at each
epoch, and a linear decay over a subpath's first epochs that trains and resumes after a
SIGTERM to the bytes of an uninterrupted run."""

import hashlib
import signal

import pytest
from nn_jobs import segment, subpaths, tiny_main

from latedecay.io import load_torch
from latedecay.nn.interrupt import Interrupted
from latedecay.nn.schedule import Schedule
from latedecay.nn.trainer import Single, Trainer

DECAY, EPOCHS, STEPS = 2, 4, 4  # one subpath from main-path epoch 2, 4 epochs of 4 steps
RAMP = Schedule(0.01, ramp_epochs=3, ramp_from=0.05)


def test_constant_schedule_is_the_papers_rate():
    assert [Schedule(0.01).lr_at(e) for e in (1, 2, 500)] == [0.01, 0.01, 0.01]


def test_ramp_falls_linearly_and_reaches_the_rate_at_its_last_epoch():
    assert [RAMP.lr_at(e) for e in range(1, 6)] == pytest.approx(
        [0.05 - 0.04 / 3, 0.05 - 0.08 / 3, 0.01, 0.01, 0.01], abs=1e-15
    )
    assert RAMP.lr_at(3) == 0.01  # exactly, not by round-off


def test_a_ramp_needs_its_starting_rate():
    with pytest.raises(ValueError, match="ramp_from"):
        Schedule(0.01, ramp_epochs=2)


def test_rule_params_carry_main_lr_only_into_a_ramp():
    cfg = {"main": {"lr": 0.1}, "subpath": {"lr": 0.01, "ramp_epochs": 0}}
    assert Schedule.from_config(cfg, "main") == {"lr": 0.1, "ramp_epochs": 0, "ramp_from": None}
    assert Schedule.from_config(cfg, "subpath") == {"lr": 0.01, "ramp_epochs": 0, "ramp_from": None}
    cfg["subpath"]["ramp_epochs"] = 3
    params = Schedule.from_config(cfg, "subpath")
    assert list(params) == sorted(params) and Schedule.from_params(params) == Schedule(0.01, 3, 0.1)


@pytest.fixture(scope="module")
def branched(tmp_path_factory):
    """Tiny data and a main path to epoch 2 whose branches.pt the subpaths start from."""
    folder, data = tiny_main(tmp_path_factory.mktemp("schedule"))
    segment(data, folder / "epoch0", folder / f"epoch{DECAY}", DECAY)
    return folder, data


def train_subpath(branched, name, schedule, resume=None):
    folder, data = branched
    (out,) = subpaths(
        data, [(7, folder / f"epoch{DECAY}", DECAY)], [folder / name], EPOCHS, schedule=schedule, resume_file=resume
    )
    return out


def sha256s(out):
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in out.items()}


@pytest.fixture(scope="module")
def ramped(branched):
    """The ramped subpath, uninterrupted, with the rate set at each epoch."""
    rates, set_lr = [], Trainer.set_lr
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "set_lr", lambda self, lr: (rates.append(lr), set_lr(self, lr)))
        out = train_subpath(branched, "ramped", RAMP)
    return out, rates


def test_engine_sets_each_epochs_rate_from_the_schedule(ramped):
    out, rates = ramped
    assert rates == [RAMP.lr_at(e) for e in range(1, EPOCHS + 1)]
    assert [g["lr"] for g in load_torch(out["checkpoint"])["optimizer"]["param_groups"]] == [0.01]


def test_a_ramp_trains_other_numbers_than_the_step_decay(branched, ramped):
    step = train_subpath(branched, "step", Schedule(0.01))
    assert sha256s(step)["checkpoint"] != sha256s(ramped[0])["checkpoint"]
    assert load_torch(step["checkpoint"])["optimizer"]["param_groups"][0]["lr"] == 0.01


def test_a_ramp_stopped_inside_it_resumes_to_the_same_bytes(branched, ramped, tmp_path):
    """SIGTERM at epoch 2, step 2 (inside the ramp): the rerun sets epoch 2's rate again."""
    calls, losses = [0], Single._losses

    def signalling(self, *args):
        calls[0] += 1
        if calls[0] == STEPS + 2:
            signal.raise_signal(signal.SIGTERM)
        return losses(self, *args)

    resume = tmp_path / "resume.pt"
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Interrupted, match="at epoch 2, step 2"):
        patch.setattr(Single, "_losses", signalling)
        train_subpath(branched, "stopped", RAMP, resume)
    assert resume.is_file()
    assert sha256s(train_subpath(branched, "stopped", RAMP, resume)) == sha256s(ramped[0])
