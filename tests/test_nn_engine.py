"""The training engine: bitwise segment continuity, kill-and-resume, momentum reset."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from nn_jobs import assert_state_equal, init, metrics, outputs, same_checkpoint, segment, spec
from tiny_cifar import write_tiny_prepared

from latedecay.io import load_torch
from latedecay.nn import engine
from latedecay.nn.checkpoint import job_key, load_resume, save_resume
from latedecay.nn.data import load_sets
from latedecay.nn.models import build_model

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine")
    data = write_tiny_prepared(folder)
    init(data, folder / "epoch0")
    return folder, data


@pytest.fixture(scope="module")
def straight(tiny):
    """Epochs 0 -> 4 in one job."""
    folder, data = tiny
    return segment(data, folder / "epoch0", folder / "straight4", 4)


def test_initial_checkpoint_and_metrics(tiny):
    folder, _ = tiny
    out = outputs(folder / "epoch0")
    m = metrics(out)
    assert m["path"] == "main" and m["decay_epoch"] is None and m["epochs"] == []
    assert m["eval"]["epoch"] == [0] and 0 < m["eval"]["test_loss"][0] < 1
    snaps = load_torch(out["snapshots"])
    assert snaps["epochs"].tolist() == [0] and snaps["params"].shape == (1, 1_250_634)
    torch.manual_seed(7)
    fresh = torch.nn.utils.parameters_to_vector(build_model("vgg_small").parameters())
    assert torch.equal(snaps["params"][0], fresh)  # the seeded init, in parameters() order


def test_segments_are_bitwise_continuous(tiny, straight):
    folder, data = tiny
    first = segment(data, folder / "epoch0", folder / "seg2", 2)
    second = segment(data, folder / "seg2", folder / "seg4", 4)
    same_checkpoint(straight, second)
    one, a, b = metrics(straight), metrics(first), metrics(second)
    assert (b["start_epoch"], b["end_epoch"], b["epochs"]) == (2, 4, [3, 4])
    assert one["train_batch_loss"] == a["train_batch_loss"] + b["train_batch_loss"]
    for key, values in one["eval"].items():
        assert values == a["eval"][key] + b["eval"][key]
    snaps = [load_torch(o["snapshots"]) for o in (straight, first, second)]
    assert snaps[0]["epochs"].tolist() == [1, 2, 3, 4]
    assert torch.equal(snaps[0]["params"], torch.cat([snaps[1]["params"], snaps[2]["params"]]))
    assert one["train_batch_loss"][-1] < one["train_batch_loss"][0]  # it does learn


def test_sigkill_mid_job_resumes_bitwise(tiny, straight, tmp_path):
    folder, data = tiny
    resume = tmp_path / "resume.pt"
    cmd = [sys.executable, str(TESTS / "nn_jobs.py"), str(data["train"]), str(data["eval"]),
           str(folder / "epoch0"), str(tmp_path / "killed"), "4", str(resume)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent / "workflow" / "scripts"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not resume.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "job ended before a resume state appeared"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not outputs(tmp_path / "killed")["checkpoint"].exists()
    killed_at = load_torch(resume)["epoch"]
    assert 1 <= killed_at < 4
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming from {resume} at epoch {killed_at}" in rerun.stderr
    resumed = outputs(tmp_path / "killed")
    same_checkpoint(straight, resumed)
    assert metrics(resumed)["train_batch_loss"] == metrics(straight)["train_batch_loss"]
    assert metrics(resumed)["eval"] == metrics(straight)["eval"]
    assert_state_equal(load_torch(resumed["snapshots"]), load_torch(straight["snapshots"]))
    assert not resume.exists()  # deleted on success


def test_resume_state_of_another_job_is_ignored(tiny, tmp_path):
    folder, _ = tiny
    start = outputs(folder / "epoch0")["checkpoint"]
    model = build_model("vgg_small")
    optimizer = engine.make_optimizer(model, spec())
    key = job_key(start, {"lr": 0.05})
    save_resume(tmp_path / "r.pt", key, model, optimizer, 1, engine.new_history())
    assert load_resume(tmp_path / "r.pt", key)["epoch"] == 1
    assert load_resume(tmp_path / "r.pt", job_key(start, {"lr": 0.01})) is None
    (tmp_path / "r.pt").write_bytes(b"garbage")
    assert load_resume(tmp_path / "r.pt", key) is None


@pytest.mark.parametrize("reset", [True, False])
def test_subpath_momentum_reset_or_kept(tiny, straight, reset, tmp_path):
    folder, data = tiny
    sub = segment(data, folder / "straight4", tmp_path / "sub", 1, lr=0.01, decay=4, reset=reset)
    m = metrics(sub)
    assert (m["path"], m["decay_epoch"], m["start_epoch"], m["end_epoch"], m["epochs"]) == ("decay4", 4, 0, 1, [1])
    # the same epoch by hand: weights from the main checkpoint, momentum zero or carried over
    ckpt = load_torch(straight["checkpoint"])
    model = build_model("vgg_small")
    model.load_state_dict(ckpt["model"])
    optimizer = engine.make_optimizer(model, spec("decay4", 0.01))
    if not reset:
        optimizer.load_state_dict(ckpt["optimizer"])
        for group in optimizer.param_groups:
            group["lr"] = 0.01
    train, _ = load_sets(data["train"], data["eval"], torch.device("cpu"))
    engine.train_epoch(model, optimizer, train, spec("decay4", 0.01), 1)
    assert_state_equal(load_torch(sub["checkpoint"])["model"], model.state_dict())
    # and the other choice gives different weights
    other = segment(data, folder / "straight4", tmp_path / "other", 1, lr=0.01, decay=4, reset=not reset)
    weights = [load_torch(o["checkpoint"])["model"]["features.0.weight"] for o in (sub, other)]
    assert not torch.equal(*weights)


def test_wrong_or_corrupt_start_checkpoint_is_named(tiny, tmp_path):
    folder, data = tiny
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "checkpoint.pt").write_bytes(b"truncated")
    with pytest.raises(RuntimeError, match=str(bad / "checkpoint.pt")):
        segment(data, bad, tmp_path / "out", 2)
    with pytest.raises(RuntimeError, match="expected epoch 2"):  # epoch-0 checkpoint as a decay-2 start
        segment(data, folder / "epoch0", tmp_path / "out", 1, decay=2)
    with pytest.raises(RuntimeError, match="vgg11_bn"):
        segment(data, folder / "epoch0", tmp_path / "out", 1, arch="vgg11_bn")
