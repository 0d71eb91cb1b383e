"""The data/train rules through Snakemake: planning, a tiny end-to-end run, what reruns."""

import time

import pytest
import torch
import yaml
from conftest import run_snakemake
from tiny_cifar import write_tiny_cifar

from latedecay.config_checks import ConfigError, check_nn
from latedecay.io import load_json, load_torch


def job_counts(stdout):
    """{rule: count} from the first "Job stats" table of ``-n --quiet rules``."""
    counts, lines = {}, stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("job ")) + 2
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def targets(decays, main_end):
    return [f"results/sub/decay{d}/metrics.json" for d in decays] + [f"results/main/epoch{main_end}/snapshots.pt"]


def test_paper_config_plans_every_training_job_in_seconds(tmp_path):
    start = time.time()
    proc = run_snakemake("-n", "--quiet", "rules", "--directory", tmp_path, *targets(range(2000, 3001, 100), 3000))
    assert time.time() - start < 60
    assert job_counts(proc.stdout) == {"download_cifar": 1, "prepare_data": 1, "init_main": 1,
                                       "train_main": 30, "train_subpath": 11}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_workflow")
    write_tiny_cifar(workdir / "data" / "tiny")
    run_snakemake("-c2", "--configfile", "presets/tiny.yaml", "--directory", workdir, *targets([2, 4], 4))
    return workdir


def test_tiny_run_outputs_follow_the_contract(tiny_run):
    main = [load_json(tiny_run / f"results/main/epoch{e}/metrics.json") for e in (0, 2, 4)]
    assert [(m["start_epoch"], m["end_epoch"]) for m in main] == [(0, 0), (0, 2), (2, 4)]
    assert main[2]["epochs"] == [3, 4] and main[2]["eval"]["epoch"] == [3, 4] and len(main[2]["train_batch_loss"]) == 2
    sub = load_json(tiny_run / "results/sub/decay4/metrics.json")
    assert (sub["path"], sub["decay_epoch"], sub["epochs"], sub["device"]) == ("decay4", 4, [1, 2], "cpu")
    assert set(sub["eval"]) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc"}
    snaps = load_torch(tiny_run / "results/sub/decay4/snapshots.pt")
    assert snaps["epochs"].tolist() == [1, 2] and snaps["params"].shape == (2, 1_250_634)
    ckpt = load_torch(tiny_run / "results/sub/decay4/checkpoint.pt")
    assert ckpt["epoch"] == 2 and ckpt["decay_epoch"] == 4 and "torch" in ckpt["rng"]
    data = load_torch(tiny_run / "results/data/train.pt")
    assert data["images"].shape == (100, 3, 32, 32) and data["split"] == "train"
    assert load_torch(tiny_run / "results/data/eval.pt")["images"].shape == (500, 3, 32, 32)
    assert "md5 differs" in (tiny_run / "logs/download_cifar/download_cifar.log").read_text()
    assert "images/s" in (tiny_run / "logs/train_main/epoch4.log").read_text()
    assert not list((tiny_run / "results").glob(".resume/*/*.pt"))  # deleted on success
    # a subpath starts from the main checkpoint it names: its first snapshot moved away from it
    main4 = load_torch(tiny_run / "results/main/epoch4/snapshots.pt")["params"][-1]
    assert not torch.equal(main4, snaps["params"][0])


def _overlay(workdir, name, values):
    path = workdir / name
    path.write_text(yaml.safe_dump(values))
    return path


def test_changing_subpath_lr_reruns_subpaths_only(tiny_run):
    extra = _overlay(tiny_run, "sub_lr.yaml", {"subpath": {"lr": 0.02}})
    proc = run_snakemake("-n", "--quiet", "rules", "--configfile", "presets/tiny.yaml", extra,
                         "--directory", tiny_run, *targets([2, 4], 4))  # fmt: skip
    assert job_counts(proc.stdout) == {"train_subpath": 2}


def test_longer_main_path_only_adds_segments(tiny_run):
    extra = _overlay(tiny_run, "longer.yaml", {"main": {"epochs": 6}})
    proc = run_snakemake("-n", "--quiet", "rules", "--configfile", "presets/tiny.yaml", extra,
                         "--directory", tiny_run, *targets([2, 4], 6))  # fmt: skip
    assert job_counts(proc.stdout) == {"train_main": 1}


def test_nothing_to_do_after_the_run(tiny_run):
    proc = run_snakemake("-n", "--configfile", "presets/tiny.yaml", "--directory", tiny_run, *targets([2, 4], 4))
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "change, key",
    [({"subpath": {"decay_epochs": [150]}}, "subpath.decay_epochs[0]"),
     ({"subpath": {"decay_epochs": [3100]}}, "subpath.decay_epochs[0]"),
     ({"train": {"batch_size": 6000}}, "train.batch_size")],
)  # fmt: skip
def test_config_checks_name_the_key(repo, change, key):
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    for section, values in change.items():
        cfg[section].update(values)
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        check_nn(cfg)
    check_nn(yaml.safe_load((repo / "config.yaml").read_text()))
