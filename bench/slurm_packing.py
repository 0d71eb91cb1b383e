"""How should many short GPU jobs (landscape chunks) reach SLURM? Measured side by side on
the local one-node cluster of tests/slurm/local-cluster.sh (one fake GPU):

  separate  every chunk its own sbatch job (the plugin's default)
  grouped   the slurm profile's way: one group job, chunks one after another on one GPU
            (groups + group-components + resources gpu=1 with local scope)
  array     --slurm-array-jobs: one sbatch array, one array task per chunk

Each chunk runs a Python process that computes for --work seconds, like a small chunk.
Writes bench/out/slurm_packing.json (and prints it). Needs root: it starts the cluster
if it is not running and stops it again afterwards.

    .venv/bin/python bench/slurm_packing.py [--chunks 8] [--work 2]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "tests" / "slurm" / "local-cluster.sh"
CLUSTER_ENV = {"SLURM_FAKE_GPUS": "1", "SLURM_PARTITIONS": "debug gpu", "SLURM_ACCOUNTS": "latedecay"}

SNAKEFILE = """
rule all:
    input: expand("chunk{i}.txt", i=range(config["chunks"]))
    localrule: True

rule landscape_chunk:
    output: "chunk{i}.txt"
    threads: 1
    shell: "python3 -c 'import time; t = time.time()\\nwhile time.time() - t < {config[work]}: pass' && echo $SLURM_JOB_ID > {output}"
"""

BASE_PROFILE = {
    "executor": "slurm",
    "jobs": 50,
    "latency-wait": 5,
    "slurm-init-seconds-before-status-checks": 2,
    "slurm-status-command": "squeue",
    "default-resources": {"mem_mb": 500, "runtime": 10, "slurm_account": "latedecay", "slurm_partition": "gpu"},
    "set-resources": {"landscape_chunk": {"gpu": 1}},
}
MODES = {
    "separate": {},
    "grouped": {
        "groups": {"landscape_chunk": "landscape"},
        "group-components": {"landscape": 1000},
        "resources": {"gpu": 1},
        "set-resource-scopes": {"gpu": "local"},
    },
    "array": {"slurm-array-jobs": "landscape_chunk"},
}


def cluster(action):
    env = {**os.environ, **CLUSTER_ENV}
    return subprocess.run(["bash", CLUSTER, action], env=env, capture_output=True, text=True)


def sacct_allocations(run_dir):
    """Distinct SLURM jobs (allocations) that wrote the chunk files, and their summed elapsed time."""
    ids = sorted({p.read_text().strip() for p in run_dir.glob("chunk*.txt")})
    out = subprocess.run(
        ["sacct", "-X", "-P", "-n", "-o", "JobID,ElapsedRaw", "-j", ",".join(ids)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line]
    return len(ids), sum(int(r[1]) for r in rows)


def run_mode(mode, chunks, work, root):
    import yaml

    run_dir = root / mode
    (run_dir / "profile").mkdir(parents=True)
    (run_dir / "Snakefile").write_text(SNAKEFILE)
    (run_dir / "profile" / "config.yaml").write_text(yaml.safe_dump({**BASE_PROFILE, **MODES[mode]}))
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [
        "timeout",
        "-k",
        "30",
        "900",
        snakemake,
        "--profile",
        run_dir / "profile",
        "--workflow-profile",
        "none",
        "--config",
        f"chunks={chunks}",
        f"work={work}",
    ]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=run_dir, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    allocations, elapsed = sacct_allocations(run_dir)
    return {"wall_s": round(wall, 1), "slurm_jobs": allocations, "slurm_elapsed_s": elapsed}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--work", type=float, default=2.0, help="seconds of computation per chunk")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "slurm_packing.json")
    args = parser.parse_args()

    was_up = cluster("status").returncode == 0
    started = cluster("start")
    if started.returncode != 0:
        sys.exit(f"could not start the local cluster:\n{started.stderr}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = {mode: run_mode(mode, args.chunks, args.work, Path(tmp)) for mode in MODES}
    finally:
        if not was_up:
            cluster("stop")
    sep = results["separate"]["wall_s"]
    report = {
        "machine": f"{os.cpu_count()} CPU cores, one-node SLURM {subprocess.getoutput('sinfo -V')}, 1 fake GPU",
        "chunks": args.chunks,
        "work_s_per_chunk": args.work,
        "results": results,
        "wall_ratio_vs_separate": {m: round(r["wall_s"] / sep, 2) for m, r in results.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
