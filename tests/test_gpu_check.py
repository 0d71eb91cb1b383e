"""bench/gpu_check.py --quick on CPU: every section runs its plumbing and writes its JSON."""

import json
import subprocess
import sys

from conftest import REPO


def test_gpu_check_quick_runs_every_section_on_cpu(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "gpu_check.py"),
            str(tmp_path),
            "--quick",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--pack",
            "3",
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert all(s["ok"] for s in summary["sections"].values()), summary
    read = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in summary["sections"]}
    assert read["host_syncs"]["host_tensors"] == 0
    assert read["single"]["relative_gap_vs_eager_after_2_epochs"] == 0  # eager against eager on CPU
    assert read["repeat"]["identical"] and read["resume"]["identical"]
    assert set(read["precision"]) >= {"fp32", "tf32", "bf16", "fp32_nondeterministic"}
    assert read["pack"]["size"] == 3
