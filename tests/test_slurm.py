"""The tiny workflow through a real one-node SLURM cluster on localhost.

tests/slurm/local-cluster.sh installs Debian's SLURM (munge, slurmctld, slurmd, slurmdbd
with MariaDB: the plugin polls sacct) and starts it with one fake GPU; the workflow is
submitted with the real `slurm` profile plus the test overlay. One train job hits its time
limit mid-run: SLURM signals it ahead of the limit (the profile's --signal), it saves its
resume state at the next step and fails; it must come back with the attempt-scaled runtime,
resume from that state, and every output must equal a local run's. Needs root and apt
(skipped otherwise); about 3-4 minutes on 2 cores.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, snakemake_bin
from tiny_cifar import write_tiny_cifar

CLUSTER = REPO / "tests" / "slurm" / "local-cluster.sh"
CLUSTER_ENV = {
    "SLURM_LOCAL_BASE": os.environ.get("LATEDECAY_TEST_SLURM_BASE", "/var/tmp/latedecay-slurm"),
    "SLURM_FAKE_GPUS": "1",
    "SLURM_FAKE_GPU_TYPE": "h200",
    "SLURM_PARTITIONS": "debug gpu",
    "SLURM_ACCOUNTS": "latedecay",
    "SLURM_APT_UPDATE": "1",  # only used when a package is missing
}
SITE_ENV = {  # what a user sets for their site (see profiles/slurm/profile.yaml)
    "LATEDECAY_SLURM_ACCOUNT": "latedecay",
    "LATEDECAY_SLURM_PARTITION": "debug",
    "LATEDECAY_SLURM_GPU_PARTITION": "gpu",
    "LATEDECAY_GPU_MODEL": "h200",
}
# Tiny preset with a 6-epoch first segment, interrupted mid-run.
# One replicate: the seed axis is covered locally (test_e2e.py); here each job goes through sbatch.
OVERRIDE = {
    "main": {"epochs": 12, "segment_epochs": 6},
    "subpath": {"decay_epochs": [6, 12]},
    "replicates": {"seeds": [7]},
}
TARGETS = ["figures/fig1.pdf", "results/fig1_summary.csv", "figures/fig2.pdf"]
LIMITED_JOB = "rule_train_main_wildcards_7_6"
RESUME_FILE = "results/.resume/seed7/main/epoch6.pt"
EXPECTED_JOBS = Counter(
    {  # sbatch comments of this DAG; localrules never reach SLURM
        "rule_prepare_data": 1,
        "rule_init_main_wildcards_7": 1,
        "rule_train_main_wildcards_7_6": 2,  # signalled at its time limit, then retried
        "rule_train_main_wildcards_7_12": 1,
        "rule_train_subpath_wildcards_7_6": 1,
        "rule_train_subpath_wildcards_7_12": 1,
        "rule_landscape_pca": 1,
        "rule_landscape_landscape_chunk": 1,  # both chunks in one group job, one GPU
        "rule_landscape_paths": 1,
    }
)
GPU_RULES = (
    "rule_init_main",
    "rule_train_main",
    "rule_train_subpath",
    "rule_landscape_landscape_chunk",
    "rule_landscape_paths",
)
TIMING_KEYS = {"images_per_s", "seconds"}  # wall-clock measurements, never equal

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="the local SLURM cluster needs Linux"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the local SLURM cluster needs root (daemons, apt)"),
    pytest.mark.skipif(
        shutil.which("apt-get") is None and shutil.which("slurmctld") is None,
        reason="no apt-get to install SLURM and no SLURM installed",
    ),
]


def cluster(action):
    env = {**os.environ, **CLUSTER_ENV}
    return subprocess.run(
        ["timeout", "-k", "10", "600", "bash", CLUSTER, action], env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def slurm_cluster():
    try:
        proc = cluster("start")
        assert proc.returncode == 0, f"local-cluster.sh start failed:\n{proc.stdout}\n{proc.stderr}"
        yield
    finally:
        proc = cluster("stop")
        assert proc.returncode == 0, proc.stderr
        assert "running" not in cluster("status").stdout, "a SLURM daemon outlived the test"


def workdir(path):
    path.mkdir()
    write_tiny_cifar(path / "data" / "tiny")
    (path / "override.yaml").write_text(yaml.safe_dump(OVERRIDE))
    return path


def snakemake_cmd(wd, *extra):
    return [
        "timeout",
        "-k",
        "30",
        "480",
        snakemake_bin(),
        *TARGETS,
        "--snakefile",
        REPO / "Snakefile",
        "--directory",
        wd,
        *extra,
        "--configfile",
        REPO / "presets" / "tiny.yaml",
        wd / "override.yaml",
    ]


def squeue_jobs():
    """{comment: (job id, job name, state)} of the queue."""
    out = subprocess.run(["squeue", "-h", "-o", "%i|%j|%k|%T"], capture_output=True, text=True).stdout
    return {c: (i, n, s) for i, n, c, s in (line.split("|") for line in out.splitlines())}


def script_pid(job_id):
    """PID of the job's training script (Snakemake runs a copy named tmp<random>.train.py), or None."""
    out = subprocess.run(["scontrol", "listpids", job_id], capture_output=True, text=True).stdout
    for pid in (line.split()[0] for line in out.splitlines()[1:]):
        with contextlib.suppress(OSError):
            if any(arg.endswith(b".train.py") for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")):
                return int(pid)
    return None


def limit_when_resumable(proc, wd):
    """Once the first main-path segment has written a resume state: freeze its script
    (SIGSTOP: a tiny job would otherwise end before SLURM's next time-limit check, every
    30 s) and cut its time limit to 1 minute, so SLURM sends the profile's --signal (with
    SIGCONT) ahead of it. Return (job id, run name, its time limit before the cut)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        job = squeue_jobs().get(LIMITED_JOB)
        pid = job and job[2] == "RUNNING" and (wd / RESUME_FILE).exists() and script_pid(job[0])
        if pid:
            os.kill(pid, signal.SIGSTOP)
            show = subprocess.run(["scontrol", "show", "job", job[0]], capture_output=True, text=True).stdout
            subprocess.run(["scontrol", "update", f"JobId={job[0]}", "TimeLimit=1"], check=True)
            return job[0], job[1], re.search(r"TimeLimit=(\S+)", show)[1]
        time.sleep(0.2)
    pytest.fail(f"{LIMITED_JOB} was never seen running with {RESUME_FILE} (snakemake rc {proc.poll()})")


def sacct_rows(run_name, since):
    out = subprocess.run(
        [
            "sacct",
            "-X",
            "-P",
            "-n",
            "--name",
            run_name,
            "-S",
            since,
            "-o",
            "JobID,Comment,State,Partition,Account,ReqTRES,Timelimit",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    keys = ("id", "comment", "state", "partition", "account", "tres", "timelimit")
    return [dict(zip(keys, line.split("|"))) for line in out.splitlines()]


def same(a, b):
    """Deep equality for loaded outputs: tensors and arrays bitwise, floats exactly."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return a == b


def load_output(path):
    if path.suffix == ".pt":
        return torch.load(path, map_location="cpu", weights_only=True)
    if path.suffix == ".npz":
        with np.load(path) as npz:  # zip entries carry timestamps: compare the arrays
            return {k: npz[k] for k in npz.files if k not in TIMING_KEYS}
    if path.suffix == ".json":
        return {k: v for k, v in json.loads(path.read_text()).items() if k not in TIMING_KEYS}
    return path.read_bytes()


def test_tiny_workflow_on_slurm_equals_local_and_resumes_after_its_time_limit(slurm_cluster, tmp_path):
    local, remote = workdir(tmp_path / "local"), workdir(tmp_path / "slurm")
    run = subprocess.run(snakemake_cmd(local, "-c2"), cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 5))
    env = {**os.environ, **SITE_ENV}
    env.pop("SNAKEMAKE_PROFILE", None)
    log = (tmp_path / "slurm.log").open("w")
    cmd = snakemake_cmd(remote, "--profile", "slurm", "--profile", "profiles/test-slurm")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        limited, run_name, first_limit = limit_when_resumable(proc, remote)
        assert proc.wait(timeout=500) == 0, (tmp_path / "slurm.log").read_text()[-6000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not squeue_jobs(), "jobs left in the queue"

    # Every cluster job went through sbatch; all completed but the one that hit its limit:
    # it failed on the signal ahead of the limit (TIMEOUT if the signal came only at it).
    rows = sacct_rows(run_name, since)
    assert Counter(r["comment"] for r in rows) == EXPECTED_JOBS
    states = {r["id"]: r["state"] for r in rows}
    assert states.pop(limited) in ("FAILED", "TIMEOUT")
    assert set(states.values()) == {"COMPLETED"}
    (retry,) = [r for r in rows if r["comment"] == LIMITED_JOB and r["id"] != limited]
    assert (first_limit, retry["timelimit"]) == ("00:30:00", "01:00:00")  # runtime = 30 min x attempt
    for r in rows:
        gpu = r["comment"].startswith(GPU_RULES)
        assert r["account"] == "latedecay"
        assert r["partition"] == ("gpu" if gpu else "debug"), r
        assert ("gres/gpu=1" in r["tres"]) == gpu, r  # --gpus=h200:1 reached SLURM

    # The signalled job saved its state at the next step (its SLURM log says so: Snakemake
    # deletes the rule's log on a retry); the retry resumed from it, gone after success.
    slurm_log = (remote / f".snakemake/slurm_logs/rule_train_main/7_6/{limited}.log").read_text()
    stop = re.search(r"received SIGTERM at epoch (\d+), step (\d+): resume state saved", slurm_log)
    assert stop, slurm_log[-6000:]
    train_log = (remote / "logs/train_main/seed7/epoch6.log").read_text()
    epoch, step = map(int, stop.groups())
    where = f"at epoch {epoch}, step {step}" if step < 4 else f"at epoch {epoch}"  # 4 steps an epoch
    assert f"resuming from {RESUME_FILE} {where}" in train_log, train_log
    assert not (remote / RESUME_FILE).exists()

    # Outputs equal the uninterrupted local run's.
    produced = sorted(p.relative_to(local) for p in (local / "results").rglob("*") if p.is_file())
    assert len(produced) >= 20
    for rel in produced:
        assert (remote / rel).exists(), rel
        assert same(load_output(local / rel), load_output(remote / rel)), f"{rel} differs"
    for fig in ("fig1", "fig2"):
        assert (remote / f"figures/{fig}.pdf").read_bytes().startswith(b"%PDF")
