"""Resume states: SIGTERM/SIGUSR1 save one at the next step and the retry writes the bytes
of an uninterrupted run; a damaged state (a part copied over a sibling, a part left from
an earlier save, one flipped byte in a part's tensor data or in the state) is rejected,
deleted with its parts, and the job restarts to the same bytes as a clean run."""

import hashlib
import logging
import re
import shutil
import signal

import pytest
import torch
from nn_jobs import (
    SEED,
    assert_state_equal,
    main_outputs,
    outputs,
    rerun,
    segment,
    settings,
    signal_when_resumable,
    tiny_main,
)

from latedecay.io import load_torch
from latedecay.nn import engine
from latedecay.nn.interrupt import Interrupted
from latedecay.nn.models import build_model
from latedecay.nn.resume import Resume, job_key, load_sealed
from latedecay.nn.schedule import Schedule
from latedecay.nn.trainer import Run, Single, Trainer

END, STEPS = 4, 4  # the jobs here: main path 0 -> 4, 4 steps an epoch (tiny: 100 images, batches of 25)
BRANCHES = list(range(1, END + 1))  # a branch state at every epoch, as nn_jobs.py's subprocess keeps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_main(tmp_path_factory.mktemp("resume"))


@pytest.fixture(autouse=True)
def job_logs(caplog):
    caplog.set_level(logging.INFO, logger="latedecay")


def messages(caplog):
    return [r.getMessage() for r in caplog.records]


def sha256s(out):
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in out.items()}


@pytest.fixture(scope="module")
def clean(tiny):
    """SHA-256 of the outputs of the uninterrupted job."""
    folder, data = tiny
    return sha256s(segment(data, folder / "epoch0", folder / "clean", END, branch_epochs=BRANCHES))


def run_job(tiny, folder, resume):
    folder_, data = tiny
    return sha256s(segment(data, folder_ / "epoch0", folder, END, resume_file=resume, branch_epochs=BRANCHES))


def interrupt(tiny, folder, resume, step, sig=signal.SIGTERM):
    """Run the job with ``sig`` raised during its global ``step`` (1-based); it must stop
    after that step, saying where."""
    calls, losses = [0], Single._losses

    def signalling(self, *args):
        calls[0] += 1
        if calls[0] == step:
            signal.raise_signal(sig)
        return losses(self, *args)

    epoch, at = (step - 1) // STEPS + 1, (step - 1) % STEPS + 1
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Interrupted) as stopped:
        patch.setattr(Single, "_losses", signalling)
        run_job(tiny, folder, resume)
    assert str(stopped.value) == f"received {sig.name} at epoch {epoch}, step {at}: resume state saved"
    assert not any(p.exists() for p in main_outputs(folder).values())
    return epoch, at


@pytest.mark.parametrize(
    "sig, step",
    [(signal.SIGTERM, 10), (signal.SIGUSR1, 5), (signal.SIGTERM, 8)],
    ids=["term-epoch3-step2", "usr1-epoch2-step1", "term-epoch2-end"],
)
def test_a_signal_saves_at_the_next_step_and_the_retry_writes_the_same_bytes(tiny, clean, tmp_path, caplog, sig, step):
    resume = tmp_path / "r.pt"
    epoch, at = interrupt(tiny, tmp_path / "out", resume, step, sig)
    state = load_sealed(resume)
    if at < STEPS:  # mid-epoch: the previous epoch done, the steps of this one and their loss sum
        assert (state["epoch"], state["partial"]["epoch"], state["partial"]["step"]) == (epoch - 1, epoch, at)
        where = f"at epoch {epoch}, step {at}"
    else:  # after an epoch's last step: an epoch-boundary state
        assert (state["epoch"], state["partial"]) == (epoch, None)
        where = f"at epoch {epoch}"
    assert run_job(tiny, tmp_path / "out", resume) == clean
    assert f"resuming from {resume} {where}" in messages(caplog)
    assert not list(tmp_path.glob("r.*"))  # state and parts deleted on success


def test_sigterm_to_a_job_process_then_rerun_writes_the_same_bytes(tiny, clean, tmp_path):
    """A real signal to a job subprocess, at whatever step it has reached."""
    folder, data = tiny
    resume = tmp_path / "resume.pt"
    args = [data["train"], data["eval"], folder / "epoch0", tmp_path / "out", END, resume]
    returncode, stderr = signal_when_resumable(args, resume, signal.SIGTERM)
    assert returncode == 1, stderr  # it handled the signal and failed: Snakemake retries it
    epoch, at = map(int, re.search(r"received SIGTERM at epoch (\d+), step (\d+): resume state saved", stderr).groups())
    assert 2 <= epoch <= END and 1 <= at <= STEPS
    where = f"at epoch {epoch}, step {at}" if at < STEPS else f"at epoch {epoch}"
    assert f"resuming from {resume} {where}" in rerun(args)
    assert sha256s(main_outputs(tmp_path / "out")) == clean


@pytest.fixture(scope="module")
def stopped(tiny, tmp_path_factory):
    """Resume states of the job: stopped at epoch 3, step 2 (parts 1, 2: epochs 1, 2; part 3:
    nothing new) and, an earlier attempt, at epoch 2, step 2 (part 2: nothing new)."""
    late, early = tmp_path_factory.mktemp("late"), tmp_path_factory.mktemp("early")
    interrupt(tiny, late / "out", late / "r.pt", 10)
    interrupt(tiny, early / "out", early / "r.pt", 6)
    return late, early


def flip_byte(path, tensor):
    """Flip one bit in the middle of ``tensor``'s data in ``path``; the file stays loadable."""
    data, raw = bytearray(path.read_bytes()), tensor.contiguous().numpy().tobytes()
    at = data.find(raw)
    assert at >= 0 and data.find(raw, at + 1) < 0
    data[at + len(raw) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    torch.load(path, weights_only=True)  # what an unverified reader would have used


def copy_over_sibling(folder, early):
    shutil.copyfile(folder / "r.part1.pt", folder / "r.part2.pt")
    return folder / "r.part2.pt", "SHA-256 differs"


def part_of_an_earlier_save(folder, early):
    shutil.copyfile(early / "r.part2.pt", folder / "r.part2.pt")  # same job key, same index
    assert load_torch(folder / "r.part2.pt")["index"] == 2
    return folder / "r.part2.pt", "SHA-256 differs"


def flip_in_part(folder, early):
    flip_byte(folder / "r.part2.pt", load_torch(folder / "r.part2.pt")["appended"][0]["snapshots"][0])
    return folder / "r.part2.pt", "SHA-256 differs"


def flip_in_state(folder, early):
    flip_byte(folder / "r.pt", load_sealed(folder / "r.pt")["trainer"]["model"]["classifier.0.weight"])
    return folder / "r.pt", "does not match its SHA-256 trailer"


@pytest.mark.parametrize("damage", [copy_over_sibling, part_of_an_earlier_save, flip_in_part, flip_in_state])
def test_a_damaged_resume_state_is_deleted_and_the_job_restarts_to_the_clean_bytes(
    tiny, clean, stopped, tmp_path, caplog, damage
):
    late, early = stopped
    for path in late.glob("r.*"):
        shutil.copyfile(path, tmp_path / path.name)
    assert load_torch(tmp_path / "r.part2.pt")["epochs"][0]["snapshots"] == [2]
    damaged, reason = damage(tmp_path, early)
    assert run_job(tiny, tmp_path / "out", tmp_path / "r.pt") == clean
    resume = tmp_path / "r.pt"
    message = [m for m in messages(caplog) if "unusable" in m]
    assert len(message) == 1 and message[0].startswith(f"resume state {resume} is unusable: "), caplog.text
    assert str(damaged) in message[0] and reason in message[0]
    assert message[0].endswith("Deleted it and its parts; the job starts from its beginning.")
    assert "forcerun" not in caplog.text and "resuming from" not in caplog.text
    assert not list(tmp_path.glob("r.*"))


def test_an_undamaged_copy_of_the_same_states_resumes(tiny, clean, stopped, tmp_path, caplog):
    """The control for the damage test: the copied state itself is good."""
    late, _ = stopped
    for path in late.glob("r.*"):
        shutil.copyfile(path, tmp_path / path.name)
    assert run_job(tiny, tmp_path / "out", tmp_path / "r.pt") == clean
    assert f"resuming from {tmp_path / 'r.pt'} at epoch 3, step 2" in messages(caplog)


def test_resume_state_of_another_job_is_unusable(tiny, tmp_path):
    folder, _ = tiny
    start = outputs(folder / "epoch0")["checkpoint"]
    trainer = Trainer.create([build_model("vgg_small")], [Run(SEED, "main")], settings(), Schedule(0.05))
    key = job_key(start, {"lr": 0.05})
    Resume(tmp_path / "r.pt", key).save(trainer, 1, [engine.new_history()])
    assert Resume(tmp_path / "r.pt", key).load()[1] == 1
    assert Resume(tmp_path / "r.pt", job_key(start, {"lr": 0.01})).load() is None
    assert not list(tmp_path.iterdir())
    (tmp_path / "r.pt").write_bytes(b"garbage")
    assert Resume(tmp_path / "r.pt", key).load() is None


def test_resume_parts_hold_each_snapshot_once(tiny, tmp_path):
    """Three saves of a growing history: each part has only the new items, a load has all;
    a lost part makes the state unusable rather than silently short."""
    folder, _ = tiny
    trainer = Trainer.create([build_model("vgg_small")], [Run(SEED, "main")], settings(), Schedule(0.05))
    key = job_key(outputs(folder / "epoch0")["checkpoint"], {})
    history, resume = engine.new_history(), Resume(tmp_path / "r.pt", key)
    for epoch in (1, 2, 3):
        history["snapshot_epochs"] += [epoch] * epoch
        history["snapshots"] += [torch.full((3,), float(epoch))] * epoch  # 1, then 2, then 3 new
        resume.save(trainer, epoch, [history])
    parts = [load_torch(tmp_path / f"r.part{i}.pt") for i in (1, 2, 3)]
    assert [len(p["appended"][0]["snapshots"]) for p in parts] == [1, 2, 3]
    assert [(p["key"], p["index"], p["epochs"][0]["snapshots"]) for p in parts] == [
        (key, 1, [1]),
        (key, 2, [2, 2]),
        (key, 3, [3, 3, 3]),
    ]
    assert load_sealed(tmp_path / "r.pt")["histories"][0]["snapshots"] == []
    again = Resume(tmp_path / "r.pt", key)
    _, epoch, partial, (loaded,) = again.load()
    assert (epoch, partial) == (3, None) and loaded["snapshot_epochs"] == [1, 2, 2, 3, 3, 3]
    assert_state_equal(loaded["snapshots"], history["snapshots"])
    history["snapshot_epochs"].append(4)
    history["snapshots"].append(torch.zeros(3))  # a save after a load appends only the new one
    again.save(trainer, 4, [history])
    assert len(load_torch(tmp_path / "r.part4.pt")["appended"][0]["snapshots"]) == 1
    (tmp_path / "r.part2.pt").unlink()
    (tmp_path / ".r.part5.pt.0123abcd.tmp").write_bytes(b"a killed write")
    assert Resume(tmp_path / "r.pt", key).load() is None
    assert not list(tmp_path.iterdir())  # an unusable state is deleted, parts and temps too
