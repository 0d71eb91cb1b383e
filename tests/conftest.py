"""Shared pytest set-up: the science package on sys.path, repo paths, helpers."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

# Keep test runs on the two CI cores predictable.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def snakemake_bin():
    return str(Path(sys.executable).with_name("snakemake"))


def _no_scontrol_path():
    """PATH with a failing ``scontrol`` first.

    The SLURM plugin runs ``scontrol show config`` (10 s timeout) whenever Snakemake
    starts; where SLURM's client is installed but no controller runs (this machine
    after the SLURM test), every local run would wait those 10 s for nothing.
    """
    shim = Path(tempfile.gettempdir()) / "latedecay-no-scontrol"
    shim.mkdir(exist_ok=True)
    script = shim / "scontrol"
    if not script.exists():
        script.write_text("#!/bin/sh\nexit 1\n")
        script.chmod(0o755)
    return f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"


def run_snakemake(*args, cwd=REPO, check=True, timeout=900):
    """Run the workflow's Snakemake CLI locally; return the CompletedProcess."""
    cmd = [snakemake_bin(), "--snakefile", str(REPO / "Snakefile"), *map(str, args)]
    env = {**os.environ, "PATH": _no_scontrol_path()}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def repo():
    return REPO
