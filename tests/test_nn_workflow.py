"""The data/train rules through Snakemake: the tiny run's files follow the contract, packs
plan per-pack jobs, cross-key config checks. (Job counts of the paper DAG and the rerun
matrix are in tests/test_dag.py and tests/test_e2e.py.)"""

import shutil

import pytest
import torch
import yaml
from conftest import run_snakemake
from dag import planned_job_blocks, planned_jobs
from tiny_cifar import write_tiny_cifar

from latedecay.io import load_json, load_torch
from latedecay.nn.models import build_model


def targets(decays, main_end, seed=7):
    return [f"results/seed{seed}/sub/decay{d}/metrics.json" for d in decays] + [
        f"results/seed{seed}/main/epoch{main_end}/snapshots.pt"
    ]


def test_packs_replace_single_subpath_jobs(tmp_path):
    extra = tmp_path / "pack.yaml"
    extra.write_text(yaml.safe_dump({"subpath": {"pack": 4}, "replicates": {"seeds": [7, 8]}}))
    wanted = targets(range(2000, 3001, 100), 3000) + targets(range(2000, 3001, 100), 3000, seed=8)
    jobs = planned_jobs("--configfile", extra, "--directory", tmp_path, *wanted)
    packs = {rule: n for rule, n in jobs.items() if rule.startswith("train_subpath")}
    # per seed, 11 decay epochs in packs of 4: 2000-2300, 2400-2700, 2800-3000
    assert packs == {f"train_subpath_seed{s}_pack{d}": 1 for s in (7, 8) for d in (2000, 2400, 2800)}
    assert jobs["train_main"] == 60 and jobs["init_main"] == 2


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_workflow")
    write_tiny_cifar(workdir / "data" / "tiny")
    run_snakemake("-c2", "--configfile", "presets/tiny.yaml", "--directory", workdir, *targets([2, 4], 4))
    return workdir


def test_tiny_run_outputs_follow_the_contract(tiny_run):
    main = [load_json(tiny_run / f"results/seed7/main/epoch{e}/metrics.json") for e in (0, 2, 4)]
    assert [(m["start_epoch"], m["end_epoch"]) for m in main] == [(0, 0), (0, 2), (2, 4)]
    assert main[2]["epochs"] == [3, 4] and main[2]["eval"]["epoch"] == [3, 4] and len(main[2]["train_batch_loss"]) == 2
    sub = load_json(tiny_run / "results/seed7/sub/decay4/metrics.json")
    assert (sub["path"], sub["seed"], sub["decay_epoch"], sub["epochs"], sub["device"]) == (
        "decay4",
        7,
        4,
        [1, 2],
        "cpu",
    )
    assert set(sub["eval"]) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc"}
    snaps = load_torch(tiny_run / "results/seed7/sub/decay4/snapshots.pt")
    assert snaps["epochs"].tolist() == [1, 2] and snaps["params"].shape == (2, 1_250_634)
    ckpt = load_torch(tiny_run / "results/seed7/sub/decay4/checkpoint.pt")
    assert (ckpt["epoch"], ckpt["decay_epoch"], ckpt["seed"]) == (2, 4, 7) and "keyed" in ckpt["rng_scheme"]
    data = load_torch(tiny_run / "results/data/train.pt")
    assert data["images"].shape == (100, 3, 32, 32) and data["split"] == "train"
    assert load_torch(tiny_run / "results/data/eval.pt")["images"].shape == (500, 3, 32, 32)
    assert "md5 differs" in (tiny_run / "logs/prepare_data/prepare_data.log").read_text()
    assert load_json(tiny_run / "results/data/cifar_check.json")["mismatch"]  # synthetic files
    assert "main seed 7: epoch 2 of 2 (run epoch 4)" in (tiny_run / "logs/train_main/seed7/epoch4.log").read_text()
    assert not list((tiny_run / "results").rglob(".resume/**/*.pt"))  # deleted on success
    # a subpath starts from the main checkpoint it names: its first snapshot moved away from it
    main4 = load_torch(tiny_run / "results/seed7/main/epoch4/snapshots.pt")["params"][-1]
    assert not torch.equal(main4, snaps["params"][0])


def test_pack_job_through_snakemake_equals_single_jobs(tiny_run, tmp_path):
    """float32, dropout on: a pack of the tiny preset's two subpaths ends within round-off
    (1e-4 relative) of the single-run jobs, in the same per-decay files."""
    workdir = tmp_path / "packed"
    shutil.copytree(tiny_run, workdir)  # main path and metadata included: only the pack job runs
    extra = workdir / "pack.yaml"
    extra.write_text(yaml.safe_dump({"subpath": {"pack": 2}}))
    proc = run_snakemake("-c2", *targets([2, 4], 4), "--configfile", "presets/tiny.yaml", extra, "--directory", workdir)
    assert "train_subpath_seed7_pack2" in proc.stdout + proc.stderr and "train_main" not in proc.stdout + proc.stderr
    for decay in (2, 4):
        m = load_json(workdir / f"results/seed7/sub/decay{decay}/metrics.json")
        assert (m["path"], m["decay_epoch"], m["epochs"]) == (f"decay{decay}", decay, [1, 2])
        assert m["eval"]["epoch"] == [1, 2]
        ckpt = load_torch(workdir / f"results/seed7/sub/decay{decay}/checkpoint.pt")
        assert (ckpt["epoch"], ckpt["decay_epoch"]) == (2, decay)
        snaps = load_torch(workdir / f"results/seed7/sub/decay{decay}/snapshots.pt")
        assert snaps["params"].shape == (2, 1_250_634)
        assert torch.equal(snaps["params"][-1], parameters_of(ckpt["model"]))
        alone = load_torch(tiny_run / f"results/seed7/sub/decay{decay}/checkpoint.pt")["model"]
        for name, value in alone.items():
            gap = float((ckpt["model"][name] - value).abs().max() / value.abs().max())
            assert 0 <= gap <= 1e-4, (decay, name, gap)
    assert not list((workdir / "results").rglob(".resume/**/*.pt"))


def test_one_long_segment_through_snakemake_changes_no_number(tiny_run, tmp_path):
    """The tiny main path as one job keeping epochs 2 and 4 (main.branch_every 2) instead of
    two 2-epoch jobs: one main job runs, and the subpaths, now started from its
    branches.pt, write the bytes the split run wrote."""
    workdir = tmp_path / "long"
    shutil.copytree(tiny_run, workdir)
    extra = workdir / "long.yaml"
    extra.write_text(yaml.safe_dump({"main": {"segment_epochs": 4, "branch_every": 2}}))
    args = ("--configfile", "presets/tiny.yaml", extra, "--directory", workdir)
    jobs = planned_jobs(*args, *targets([2, 4], 4))
    assert (jobs["train_main"], jobs["train_subpath"], "init_main" in jobs) == (1, 2, False)
    run_snakemake("-c2", *args, *targets([2, 4], 4))
    states = load_torch(workdir / "results/seed7/main/epoch4/branches.pt")["states"]
    assert [s["epoch"] for s in states] == [2, 4]
    for name in (
        "main/epoch4/checkpoint.pt",
        "sub/decay2/checkpoint.pt",
        "sub/decay2/snapshots.pt",
        "sub/decay4/checkpoint.pt",
    ):
        assert (workdir / "results/seed7" / name).read_bytes() == (tiny_run / "results/seed7" / name).read_bytes(), name


@pytest.mark.parametrize("decay", [3, 8])
def test_a_subpath_target_off_the_branch_epochs_fails_when_planned(tmp_path, decay):
    """The tiny preset keeps states at epochs 0, 2, 4 and 6 only: a decay-3 or decay-8 target
    stops the dry run, naming the epoch, before any job is planned."""
    target = f"results/seed7/sub/decay{decay}/metrics.json"
    proc = run_snakemake("-n", target, "--configfile", "presets/tiny.yaml", "--directory", tmp_path, check=False)
    assert proc.returncode != 0
    assert f"no subpath can branch at epoch {decay}" in proc.stdout + proc.stderr


def parameters_of(state):
    """The model's flattened parameters (build_model order) from a state dict."""
    model = build_model("vgg_small")
    model.load_state_dict(state)
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach()


DATA = ["results/data/train.pt", "--configfile", "presets/tiny.yaml", "--directory"]


def test_raw_batch_files_are_inputs_of_prepare_data(tmp_path):
    batches = write_tiny_cifar(tmp_path / "data" / "tiny", per_batch=20, test=20)
    run_snakemake("-c1", *DATA, tmp_path)
    assert planned_jobs(*DATA, tmp_path) == {}
    # present batch files belong to no rule: even -F plans no download that would delete them
    assert planned_jobs(*DATA, tmp_path, "-F") == {"prepare_data": 1}
    changed = batches / "data_batch_3"
    changed.write_bytes(changed.read_bytes().replace(b"tiny_", b"TINY_"))  # same size, new content
    assert planned_jobs(*DATA, tmp_path) == {"prepare_data": 1}


def test_only_absent_batch_files_are_downloaded(tmp_path):
    batches = write_tiny_cifar(tmp_path / "data" / "tiny", per_batch=20, test=20)
    (batches / "test_batch").unlink()
    (download,) = [text for rule, text in planned_job_blocks(*DATA, tmp_path) if rule == "download_cifar"]
    assert "output: data/tiny/cifar-10-batches-py/test_batch\n" in download
    assert planned_jobs(*DATA, tmp_path) == {"download_cifar": 1, "prepare_data": 1}


def test_config_check_plans_the_snapshots_training_writes(tiny_run):
    """The landscape snapshot count of the config check follows the engine's cadence."""
    from latedecay.landscape.selection import planned_epochs

    main, subs = planned_epochs(main_epochs=4, sub_epochs=2, snapshot_every=1, decays=[2, 4])
    written = [load_torch(tiny_run / f"results/seed7/main/epoch{e}/snapshots.pt")["epochs"].tolist() for e in (0, 2, 4)]
    assert sorted(set(sum(written, []))) == main
    for decay in (2, 4):
        after = load_torch(tiny_run / f"results/seed7/sub/decay{decay}/snapshots.pt")["epochs"].tolist()
        assert [decay + e for e in after if e > 0] == subs[decay]
