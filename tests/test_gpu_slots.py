"""Several GPUs on one machine: concurrent jobs take different devices (nn.gpu_slots,
through nn.device.use_gpu), faked on CPU with torch.cuda.device_count = 2."""

import os
import subprocess
import sys
import time

import torch

from conftest import REPO
from latedecay.nn import device, gpu_slots

# A job's start on a fake 2-GPU machine: print the device it set, hold it until told.
JOB = """
import sys, time
from pathlib import Path
sys.path.insert(0, {scripts!r})
import torch
from latedecay.nn import device, gpu_slots
gpu_slots.FOLDER = Path({folder!r})
torch.cuda.device_count = lambda: 2
torch.cuda.set_device = lambda i: print(i, flush=True)
torch.cuda.get_device_name = lambda i: f"fake{{i}}"
device.use_gpu(deterministic=False)
release = Path({folder!r}) / ("release-" + sys.argv[1])
while not release.exists():
    time.sleep(0.05)
"""


def start(tmp_path, name):
    code = JOB.format(scripts=str(REPO / "workflow" / "scripts"), folder=str(tmp_path))
    return subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE, text=True)


def test_concurrent_jobs_get_different_devices(tmp_path):
    a = start(tmp_path, "a")
    first = a.stdout.readline()
    b = start(tmp_path, "b")
    second = b.stdout.readline()
    assert {first.strip(), second.strip()} == {"0", "1"}
    (tmp_path / "release-a").touch()
    a.wait(30)
    c = start(tmp_path, "c")  # a's device is free again, b's still held
    assert c.stdout.readline() == first
    for name, proc in (("b", b), ("c", c)):
        (tmp_path / f"release-{name}").touch()
        assert proc.wait(30) == 0


def test_a_job_waits_while_every_device_is_held(tmp_path, monkeypatch):
    assert gpu_slots.acquire(2, tmp_path) == 0 and gpu_slots.acquire(2, tmp_path) == 1
    waits = []
    monkeypatch.setattr(time, "sleep", lambda s: (waits.append(s), gpu_slots._held.pop(0).close()))
    assert gpu_slots.acquire(2, tmp_path, wait_s=0.5) == 0 and waits == [0.5]
    while gpu_slots._held:  # give back this process's devices (a job's exit does it)
        gpu_slots._held.pop().close()


def test_one_device_needs_no_lock(tmp_path):
    assert gpu_slots.acquire(1, tmp_path) == 0 and not list(tmp_path.iterdir())


def test_use_gpu_sets_the_determinism_flags(monkeypatch, tmp_path):
    monkeypatch.setattr(gpu_slots, "FOLDER", tmp_path)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "fake")
    saved = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    try:
        device.use_gpu(deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) == (False, True)
        device.use_gpu(deterministic=False)
        assert not torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved


def test_setup_sets_the_cublas_workspace_before_cuda(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    device.setup("cpu", 1, deterministic=False)
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    device.setup("cpu", 1)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
