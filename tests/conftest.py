"""Shared pytest set-up: the science package on sys.path, repo paths, helpers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

# Keep test runs on the two CI cores predictable.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def snakemake_bin():
    return str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(*args, cwd=REPO, check=True, timeout=900):
    """Run the workflow's Snakemake CLI; return the CompletedProcess."""
    cmd = [snakemake_bin(), "--snakefile", str(REPO / "Snakefile"), *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def repo():
    return REPO
