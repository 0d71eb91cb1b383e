"""The whole DAG on the tiny preset: every figure, the report, and exact reruns."""

import csv
import hashlib
import json
import re
import shutil

import pytest
import yaml
from dag import planned_job_blocks, planned_jobs
from tiny_cifar import write_tiny_cifar

from conftest import REPO, run_snakemake

FINAL = ["figures/fig1.pdf", "figures/fig2.pdf", "figures/fig3.pdf", "figures/fig4.pdf", "figures/toy_theory.pdf"]
TABLES = ["results/fig1_summary.csv", "results/toy/summary.csv"]
TINY = str(REPO / "presets" / "tiny.yaml")
SEEDS = yaml.safe_load(open(TINY))["replicates"]["seeds"]


def run_tiny(workdir):
    """The tiny default target in ``workdir``, its synthetic data written first."""
    write_tiny_cifar(workdir / "data" / "tiny")
    run_snakemake("-c2", "--configfile", TINY, "--directory", workdir, cwd=workdir)
    return workdir


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return run_tiny(tmp_path_factory.mktemp("e2e"))


def override_file(workdir, override):
    """A config file layering ``override`` on the tiny preset."""
    extra = workdir / "override.yaml"
    extra.write_text(yaml.safe_dump(override))
    return extra


def plan(workdir, override):
    """Jobs a dry run would start after layering ``override`` on the tiny preset."""
    extra = override_file(workdir, override)
    jobs = planned_jobs("--configfile", TINY, extra, "--directory", workdir, cwd=workdir)
    jobs.pop("all", None)
    return jobs


def test_every_figure_and_table_is_made(tiny):
    for name in FINAL:
        data = (tiny / name).read_bytes()
        assert data.startswith(b"%PDF") and len(data) > 10_000, name
    for name in TABLES:
        with open(tiny / name) as fh:
            rows = list(csv.DictReader(fh))
        assert rows, name


def test_second_run_has_nothing_to_do(tiny):
    assert plan(tiny, {}) == {}


def test_report_bundles_every_figure(tiny):
    run_snakemake("--configfile", TINY, "--directory", tiny, "--report", tiny / "report.html", cwd=tiny)
    html = (tiny / "report.html").read_text(errors="replace")
    for name in ("fig1.pdf", "fig2.pdf", "fig3.pdf", "fig4.pdf", "toy_theory.pdf"):
        assert name in html


def test_longer_main_path_only_adds_segments(tiny):
    jobs = plan(tiny, {"main": {"epochs": 8}})
    assert jobs.get("train_main") == len(SEEDS)  # epoch 8 only: epochs 2, 4 and 6 are kept
    assert "init_main" not in jobs and "train_subpath" not in jobs and "prepare_data" not in jobs


def test_subpath_lr_reruns_subpaths_and_what_follows(tiny):
    jobs = plan(tiny, {"subpath": {"lr": 0.02}})
    assert jobs.get("train_subpath") == 2 * len(SEEDS) and {"fig1", "fig1_summary"} <= set(jobs)
    assert not {"train_main", "init_main", "prepare_data"} & set(jobs)
    assert not any(rule.startswith("toy_") for rule in jobs)


def test_lr_schedule_reaches_the_subpath_rules_only(tiny):
    """A linear decay over the subpaths' first epoch (subpath.ramp_epochs) changes the params
    of exactly the subpath jobs; the rest reruns on their new outputs."""
    override = {"subpath": {"ramp_epochs": 1}}
    jobs = plan(tiny, override)
    assert jobs.get("train_subpath") == 2 * len(SEEDS) and {"fig1", "fig1_summary"} <= set(jobs)
    assert not {"train_main", "init_main", "prepare_data"} & set(jobs)
    assert not any(rule.startswith("toy_") for rule in jobs)
    listed = listed_params_changes(tiny, override) - {"figures/fig1.pdf"}  # its title names the ramp
    assert listed and all(re.fullmatch(r"results/seed\d+/sub/decay\d+/\w+\.(pt|json)", f) for f in listed)


def test_grid_resolution_reruns_only_chunks_merge_and_fig2(tiny):
    jobs = plan(tiny, {"landscape": {"grid": {"pc1": {"points": 6}}}})
    chunks = yaml.safe_load(open(TINY))["landscape"]["chunks"]
    assert jobs == {"landscape_chunk": chunks, "landscape_merge": 1, "fig2": 1}


def test_one_toy_sgd_parameter_reruns_only_its_simulations(tiny):
    jobs = plan(tiny, {"toy": {"sgd": {"decay_factor": 0.2}}})
    assert jobs == {"toy_simulate": 2, "toy_theory": 1}  # late_decay, linear_late_decay


def test_adding_a_seed_adds_only_its_training_and_the_tables(tiny):
    jobs = plan(tiny, {"replicates": {"seeds": SEEDS + [9]}})
    assert jobs == {"init_main": 1, "train_main": 3, "train_subpath": 2, "fig1": 1, "fig1_summary": 1}


def test_removing_a_seed_reruns_no_training(tiny):
    assert plan(tiny, {"replicates": {"seeds": SEEDS[:1]}}) == {"fig1": 1, "fig1_summary": 1}


def test_several_seeds_reach_the_tables_and_the_verdict(tiny):
    seeds = SEEDS
    assert len(seeds) >= 2
    with open(tiny / "results/fig1_summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {int(r["seed"]) for r in rows if r["seed"].isdigit()} == set(seeds)
    verdict = json.loads((tiny / "results/fig1_verdict.json").read_text())
    assert verdict["n_seeds"] == len(seeds) and verdict["verdict"]
    for seed in seeds:
        assert (tiny / f"results/seed{seed}/sub/decay4/checkpoint.pt").is_file()


@pytest.fixture
def workflow_copy(tmp_path):
    """The workflow's code in a scratch folder (mtimes kept), to edit without touching the repo."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy2(REPO / "Snakefile", copy)
    shutil.copy2(REPO / "config.yaml", copy)
    for folder in ("workflow", "envs"):
        shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def with_copy(copy, workdir):
    """Snakemake arguments running the workflow ``copy`` on the tiny preset in ``workdir``."""
    return ["--snakefile", copy / "Snakefile", "--configfile", TINY, "--directory", workdir]


def plan_with(copy, workdir, *args):
    return planned_jobs(*with_copy(copy, workdir), *args, cwd=workdir)


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_package_code_change_reruns_exactly_the_rules_that_run_it(tiny, workflow_copy, tmp_path):
    tiny = shutil.copytree(tiny, tmp_path / "work", symlinks=True)  # mtimes kept; the fixture stays as it was
    assert plan_with(workflow_copy, tiny) == {}  # the copy's digests equal the repo's
    package = workflow_copy / "workflow/scripts/latedecay"
    fig2 = package / "plots/fig2.py"
    fig2.write_text(fig2.read_text() + "\n\nUNUSED = 1\n")
    assert plan_with(workflow_copy, tiny) == {"fig2": 1, "all": 1}
    edit(package / "nn/losses.py", '"""Per-sample losses', '"""Comment-only change. Per-sample losses')
    assert plan_with(workflow_copy, tiny) == {"fig2": 1, "all": 1}  # a docstring reruns nothing
    listed = run_snakemake(*with_copy(workflow_copy, tiny), "--list-changes", "params", cwd=tiny).stdout
    assert "figures/fig2.pdf" in listed and "checkpoint.pt" not in listed
    run_snakemake(*with_copy(workflow_copy, tiny), "-c1", "--touch", cwd=tiny)
    assert plan_with(workflow_copy, tiny) == {}  # --touch accepts the outputs as they are


def test_fig1_target_plans_no_landscape_or_toy_job(tmp_path):
    jobs = planned_jobs("--configfile", TINY, "--directory", tmp_path, "figures/fig1.pdf", cwd=tmp_path)
    assert not any(rule.startswith(("toy_", "landscape_", "fig2")) for rule in jobs)
    assert {"train_main", "train_subpath", "fig1"} <= set(jobs)


def digests(workdir):
    """SHA-256 of every file under results/ and figures/, by path."""
    files = [p for folder in ("results", "figures") for p in sorted((workdir / folder).rglob("*")) if p.is_file()]
    return {str(p.relative_to(workdir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_a_second_run_elsewhere_writes_the_same_bytes(tiny, tmp_path):
    """No clock, date, host or path in any output: a checksum confirms a run."""
    first, second = digests(tiny), digests(run_tiny(tmp_path / "again"))
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def listed_params_changes(workdir, override):
    extra = override_file(workdir, override)
    proc = run_snakemake("--configfile", TINY, extra, "--directory", workdir, "--list-changes", "params", cwd=workdir)
    return set(proc.stdout.split())


def test_list_changes_params_is_empty_when_up_to_date(tiny):
    assert listed_params_changes(tiny, {}) == set()


def test_list_changes_params_names_the_outputs_whose_params_changed(tiny):
    override = {"subpath": {"lr": 0.02}}
    blocks = planned_job_blocks("--configfile", TINY, override_file(tiny, override), "--directory", tiny, cwd=tiny)
    outputs = [
        re.search(r"^    output: (.*)$", text, re.M)[1].split(", ") for rule, text in blocks if rule == "train_subpath"
    ]
    assert len(outputs) == len(yaml.safe_load(open(TINY))["subpath"]["decay_epochs"]) * len(SEEDS)
    # every output of every subpath job, and Fig. 1, whose titles name the subpath LR; Fig. 1's
    # table and the landscape rerun on their changed inputs but keep their params
    assert listed_params_changes(tiny, override) == {f for files in outputs for f in files} | {"figures/fig1.pdf"}
