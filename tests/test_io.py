"""Atomic outputs: a full disk is named, stale temp files go; damaged inputs say how to rebuild."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO
from latedecay import io as lio

SAVERS = {
    "torch": lambda path: lio.save_torch({"w": torch.zeros(1000)}, path),
    "npz": lambda path: lio.save_npz(path, w=np.zeros(1000)),
    "json": lambda path: lio.save_json({"w": list(range(1000))}, path),
}


def dev_full(*args, **kwargs):
    """Every write through this file fails as on a full disk (ENOSPC from the kernel)."""
    return open("/dev/full", "wb")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("kind", ["torch", "npz"])
def test_full_disk_names_the_output(tmp_path, monkeypatch, kind):
    monkeypatch.setattr(lio, "open", dev_full, raising=False)  # the savers' own open()
    target = tmp_path / "out" / f"result.{kind}"
    with pytest.raises(OSError, match="no space left on device") as err:
        SAVERS[kind](target)
    assert err.value.errno == errno.ENOSPC and str(target) in str(err.value)
    assert not target.exists() and not list(target.parent.iterdir())  # no temp file left


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_full_disk_or_quota_while_writing_json(tmp_path, monkeypatch, code):
    def full(self, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Path, "write_text", full)
    target = tmp_path / "metrics.json"
    with pytest.raises(OSError, match=f"no space left on device writing {target}") as err:
        SAVERS["json"](target)
    assert err.value.errno == code and os.strerror(code) in str(err.value)
    assert not list(tmp_path.iterdir())


def test_other_write_errors_pass_unchanged(tmp_path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "write_text", denied)
    with pytest.raises(PermissionError, match="Permission denied"):
        SAVERS["json"](tmp_path / "metrics.json")


KILLED_WRITE = """
import os, sys
sys.path.insert(0, sys.argv[2])
from latedecay.io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    os._exit(1)  # killed mid-write: no cleanup runs
"""


def test_stale_temp_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "metrics.json"
    script = [sys.executable, "-c", KILLED_WRITE, str(target), str(REPO / "workflow" / "scripts")]
    assert subprocess.run(script).returncode == 1
    stale = list(tmp_path.glob(".metrics.json.*.tmp"))
    assert len(stale) == 1 and not target.exists()
    kept = [
        tmp_path / ".metrics.json.bak.0123abcd.tmp",
        tmp_path / "metrics.json.tmp",
        tmp_path / ".other.0123abcd.tmp",
        tmp_path / ".metrics.json.ab_3xyz9.tmp",
    ]  # not a name atomic_path makes
    for path in kept:
        path.write_text("x")
    lio.save_json({"ok": 1}, target)
    assert json.loads(target.read_text()) == {"ok": 1}
    assert not stale[0].exists()
    assert all(path.exists() for path in kept)  # another target's temp files and other names stay


def test_damaged_upstream_files_say_how_to_rebuild(tmp_path):
    for name, load in [("x.pt", lio.load_torch), ("x.npz", lio.load_npz), ("x.json", lio.load_json)]:
        path = tmp_path / name
        path.write_bytes(b"\x00truncated")
        with pytest.raises(RuntimeError) as err:
            load(path)
        assert str(err.value).startswith(f"cannot read {path}:")
        assert str(err.value).endswith(f"rebuild it with: snakemake --forcerun {path}")


def test_wrong_content_in_a_torch_output_says_how_to_rebuild(tmp_path):
    from latedecay.landscape.snapshots import load_trajectories
    from latedecay.nn.checkpoint import load_checkpoint
    from latedecay.nn.data import load_sets

    path = tmp_path / "x.pt"
    lio.save_torch({"epoch": 3}, path)  # readable, but none of the files it stands in for
    for load in (load_checkpoint, lambda p: load_sets(p, p, "cpu"), lambda p: load_trajectories([p], [])):
        with pytest.raises(RuntimeError, match=f"rebuild it with: snakemake --forcerun {path}$"):
            load(path)
