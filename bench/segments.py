"""Job start-up against training: one main path as many short jobs or as one long job.

The same main path through Snakemake, split into ``--epochs / --segment`` jobs
(branch_every null) and as one job keeping the same branch states (segment_epochs =
epochs, branch_every = segment). Each run forces the main path again from init_main;
the runs alternate split, one, one, split, ... in one process, so machine noise hits both.
Reports each run's wall seconds, the ratio, the start-up per extra job, and checks that
both layouts wrote identical branch states and final checkpoint.

    .venv/bin/python bench/segments.py --rounds 2     # ~4 min on 2 cores, real CIFAR copy

Needs CIFAR-10 (data.root below, or ../shared/data beside the checkout). On a GPU add
--device cuda: there start-up (CUDA, compiled graphs) is the larger share.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from train import cpu_model  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def config(args, one_job):
    main = {"epochs": args.epochs, "segment_epochs": args.segment, "branch_every": None}
    if one_job:
        main.update(segment_epochs=args.epochs, branch_every=args.segment)
    data = {"subset": {"per_class": args.per_class}, "eval_limit": args.eval_images, "eval_set": "test"}
    if SHARED.joinpath("cifar-10-batches-py").is_dir():
        data.update(root=str(SHARED), allow_checksum_mismatch=True)
    return {
        "main": main,
        "data": data,
        "replicates": {"seeds": [7]},
        "subpath": {"decay_epochs": [args.epochs], "epochs": 1},
        "train": {
            "device": args.device,
            "threads": args.threads,
            "eval_every": args.segment,
            "snapshot_every": args.segment,
            "resume_every": args.segment,
        },
    }


def snakemake(workdir, cfg_file, *extra):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(cfg_file),
        "-c2",
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"snakemake failed in {workdir}:\n{proc.stderr[-4000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--segment", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=25, help="training images per class")
    parser.add_argument("--eval-images", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "segments.json")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="latedecay-segments-"))
    target = f"results/seed7/main/epoch{args.epochs}/checkpoint.pt"
    runs = {}
    for name, one_job in (("split", False), ("one_job", True)):
        workdir = root / name
        workdir.mkdir()
        (workdir / "cfg.yaml").write_text(yaml.safe_dump(config(args, one_job)))
        snakemake(workdir, workdir / "cfg.yaml", target)  # data and a first pass: not timed
        runs[name] = {"workdir": workdir, "seconds": []}
    order = ["split", "one_job", "one_job", "split"] * args.rounds
    for name in order[: 2 * args.rounds]:
        workdir = runs[name]["workdir"]
        start = time.perf_counter()
        snakemake(workdir, workdir / "cfg.yaml", target, "--forcerun", "init_main")
        runs[name]["seconds"].append(time.perf_counter() - start)
    split, one = (statistics.median(runs[n]["seconds"]) for n in ("split", "one_job"))
    jobs = args.epochs // args.segment + 1  # init_main + segments
    same = _same_states(runs["split"]["workdir"], runs["one_job"]["workdir"], args)
    result = {
        "machine": cpu_model(),
        "device": args.device,
        "torch": torch.__version__,
        "epochs": args.epochs,
        "segment": args.segment,
        "jobs_split": jobs,
        "jobs_one": 2,
        "seconds_split": runs["split"]["seconds"],
        "seconds_one_job": runs["one_job"]["seconds"],
        "ratio_split_over_one": split / one,
        "startup_per_extra_job_s": (split - one) / (jobs - 2),
        "startup_share_split": (split - one) / split,
        "identical_branch_states": same,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(root)


def _same_states(a, b, args):
    """Final checkpoint bytes, and the branch states (one per segment end) of both layouts."""
    final = f"results/seed7/main/epoch{args.epochs}/checkpoint.pt"
    if (a / final).read_bytes() != (b / final).read_bytes():
        return False
    one = torch.load(b / final.replace("checkpoint.pt", "branches.pt"), weights_only=True)["states"]
    for state in one:
        split = torch.load(a / f"results/seed7/main/epoch{state['epoch']}/checkpoint.pt", weights_only=True)
        for part in ("model", "optimizer"):  # weights; momentum buffers and SGD settings
            if _flat(state[part]) != _flat(split[part]):
                return False
    return len(one) == args.epochs // args.segment


def _flat(value):
    """Nested dicts and lists of tensors as comparable plain values (exact: bytes of each tensor)."""
    if isinstance(value, torch.Tensor):
        return (str(value.dtype), tuple(value.shape), value.numpy().tobytes())
    if isinstance(value, dict):
        return {k: _flat(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flat(v) for v in value]
    return value


if __name__ == "__main__":
    main()
