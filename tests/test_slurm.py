"""The tiny workflow through a real one-node SLURM cluster on localhost.

tests/slurm/local-cluster.sh installs Debian's SLURM (munge, slurmctld, slurmd, slurmdbd
with MariaDB: the plugin polls sacct) and starts it with one fake GPU; the workflow is
submitted with the real `slurm` profile plus the test overlay. One train job is cancelled
mid-run; it must be retried, resume from its in-job state, and every output must equal a
local run's. Needs root and apt (skipped otherwise); about 3-4 minutes on 2 cores.
"""

import json
import os
import shutil
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
# Tiny preset with a 6-epoch first segment: long enough to be cancelled mid-run.
# One replicate: the seed axis is covered locally (test_e2e.py); here each job goes through sbatch.
OVERRIDE = {"main": {"epochs": 12, "segment_epochs": 6}, "subpath": {"decay_epochs": [6, 12]},
            "replicates": {"seeds": [7]}}  # fmt: skip
TARGETS = ["figures/fig1.pdf", "results/fig1_summary.csv", "figures/fig2.pdf"]
CANCELLED_JOB = "rule_train_main_wildcards_7_6"
RESUME_FILE = "results/.resume/seed7/main/epoch6.pt"
EXPECTED_JOBS = Counter({  # sbatch comments of this DAG; localrules never reach SLURM
    "rule_prepare_data": 1,
    "rule_init_main_wildcards_7": 1,
    "rule_train_main_wildcards_7_6": 2,  # cancelled, then retried
    "rule_train_main_wildcards_7_12": 1,
    "rule_train_subpath_wildcards_7_6": 1,
    "rule_train_subpath_wildcards_7_12": 1,
    "rule_landscape_pca": 1,
    "rule_landscape_landscape_chunk": 1,  # both chunks in one group job, one GPU
    "rule_landscape_paths": 1,
})  # fmt: skip
GPU_RULES = ("rule_init_main", "rule_train_main", "rule_train_subpath", "rule_landscape_landscape_chunk", "rule_landscape_paths")
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
    return subprocess.run(["timeout", "-k", "10", "600", "bash", CLUSTER, action], env=env,
                          capture_output=True, text=True)  # fmt: skip


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
    return ["timeout", "-k", "30", "480", snakemake_bin(), *TARGETS, "--snakefile", REPO / "Snakefile",
            "--directory", wd, *extra, "--configfile", REPO / "presets" / "tiny.yaml", wd / "override.yaml"]  # fmt: skip


def squeue_jobs():
    """{comment: (job id, job name, state)} of the queue."""
    out = subprocess.run(["squeue", "-h", "-o", "%i|%j|%k|%T"], capture_output=True, text=True).stdout
    return {c: (i, n, s) for i, n, c, s in (line.split("|") for line in out.splitlines())}


def cancel_when_resumable(proc, wd):
    """scancel the first main-path segment once it has written a resume state; return
    (job id, run name). Fails if the job finishes first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        job = squeue_jobs().get(CANCELLED_JOB)
        if job and job[2] == "RUNNING" and (wd / RESUME_FILE).exists():
            subprocess.run(["scancel", job[0]], check=True)
            return job[0], job[1]
        time.sleep(0.2)
    pytest.fail(f"{CANCELLED_JOB} was never seen running with {RESUME_FILE} (snakemake rc {proc.poll()})")


def sacct_rows(run_name, since):
    out = subprocess.run(
        ["sacct", "-X", "-P", "-n", "--name", run_name, "-S", since,
         "-o", "JobID,Comment,State,Partition,Account,ReqTRES"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    keys = ("id", "comment", "state", "partition", "account", "tres")
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


def test_tiny_workflow_on_slurm_equals_local_and_survives_scancel(slurm_cluster, tmp_path):
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
        cancelled, run_name = cancel_when_resumable(proc, remote)
        assert proc.wait(timeout=500) == 0, (tmp_path / "slurm.log").read_text()[-6000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not squeue_jobs(), "jobs left in the queue"

    # Every cluster job went through sbatch; all completed but the one we cancelled.
    rows = sacct_rows(run_name, since)
    assert Counter(r["comment"] for r in rows) == EXPECTED_JOBS
    states = {r["id"]: r["state"] for r in rows}
    assert states.pop(cancelled).startswith("CANCELLED")
    assert set(states.values()) == {"COMPLETED"}
    for r in rows:
        gpu = r["comment"].startswith(GPU_RULES)
        assert r["account"] == "latedecay"
        assert r["partition"] == ("gpu" if gpu else "debug"), r
        assert ("gres/gpu=1" in r["tres"]) == gpu, r  # --gpus=h200:1 reached SLURM

    # The retry resumed from the in-job state, which is gone after success.
    train_log = (remote / "logs/train_main/seed7/epoch6.log").read_text()
    assert f"resuming from {RESUME_FILE} at epoch" in train_log, train_log
    assert not (remote / RESUME_FILE).exists()

    # Outputs equal the uninterrupted local run's.
    produced = sorted(p.relative_to(local) for p in (local / "results").rglob("*") if p.is_file())
    assert len(produced) >= 20
    for rel in produced:
        assert (remote / rel).exists(), rel
        assert same(load_output(local / rel), load_output(remote / rel)), f"{rel} differs"
    for fig in ("fig1", "fig2"):
        assert (remote / f"figures/{fig}.pdf").read_bytes().startswith(b"%PDF")
