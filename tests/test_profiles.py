"""Profiles as Snakemake reads them, and the sbatch lines the SLURM plugin builds from them.

No cluster needed: profiles go through Snakemake's own profile parser (YTE templating,
$VAR expansion, key=value flattening) and the plugin's own submit-string functions.
"""

import os
import re
import shlex
from types import SimpleNamespace

import pytest
import yaml
from snakemake.cli import get_profile_dir
from snakemake.profiles import ProfileConfigFileParser
from snakemake.resources import Resource
from snakemake_executor_plugin_slurm.submit_string import get_submit_command
from snakemake_executor_plugin_slurm.utils import set_gres_string
from snakemake_executor_plugin_slurm.validation import validate_slurm_extra

from dag import planned_job_blocks, planned_jobs
from conftest import REPO, run_snakemake

SLURM = REPO / "profiles" / "slurm" / "profile.yaml"
OVERLAY = REPO / "profiles" / "test-slurm" / "profile.yaml"
DEFAULT = REPO / "profiles" / "default" / "profile.yaml"
SITE_VARS = (
    "LATEDECAY_SLURM_ACCOUNT",
    "LATEDECAY_SLURM_PARTITION",
    "LATEDECAY_SLURM_GPU_PARTITION",
    "LATEDECAY_GPU_MODEL",
    "LATEDECAY_SLURM_SIGNAL",
)
TRAIN_RULES = {"train_main", "train_subpath"}  # they save a resume state on SIGTERM
GPU_RULES = {"init_main", "train_main", "train_subpath", "landscape_chunk", "landscape_paths"}
CPU_RULES = {"prepare_data", "landscape_pca"}  # heavy, but no GPU


def parse(path, monkeypatch, **env):
    """The profile as Snakemake sees it: {key: value or [\"k=v\" | \"rule:k=v\", ...]}."""
    for name in SITE_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with open(path) as fh:
        return dict(ProfileConfigFileParser().parse(fh))


def per_rule(entries):
    """["rule:key=value", ...] -> {rule: {key: value}}."""
    out = {}
    for entry in entries:
        rule, assignment = entry.split(":", 1)
        key, value = assignment.split("=", 1)
        out.setdefault(rule, {})[key] = value
    return out


def flat(entries):
    return dict(entry.split("=", 1) for entry in entries)


def evaluate(expr, attempt=1):
    """A resource expression evaluated as Snakemake does for --set-resources."""
    resource = Resource.from_cli_expression("r", expr, with_threads_arg=False)
    return resource.evaluate(wildcards={}, input=[], attempt=attempt, rulename="r", async_run=None).value


def sbatch_line(profile, rule, threads=2):
    """The plugin's sbatch command line for one job of `rule` under `profile`."""
    resources = {k: evaluate(v) for k, v in flat(profile.get("default-resources", [])).items()}
    resources.update({k: evaluate(v) for k, v in per_rule(profile.get("set-resources", [])).get(rule, {}).items()})
    threads = int(flat(profile.get("set-threads", [])).get(rule, threads))
    job = SimpleNamespace(name=rule, threads=threads, resources=SimpleNamespace(**resources))
    job.resources.get = lambda key, default=None: resources.get(key, default)
    params = dict(
        run_uuid="uuid",
        slurm_logfile="log",
        comment_str=f"rule_{rule}",
        account=f" -A {resources['slurm_account']}" if "slurm_account" in resources else "",
        partition=f" -p {resources['slurm_partition']}" if "slurm_partition" in resources else "",
        workdir="/wd",
    )
    return get_submit_command(job, params) + set_gres_string(job)


def test_slurm_profile_is_found_from_the_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)
    found = get_profile_dir("slurm")
    assert found is not None and found[0].resolve() == SLURM.parent.resolve()
    assert (REPO / "slurm").is_symlink() and os.readlink(REPO / "slurm") == "profiles/slurm"


def test_site_values_come_from_the_environment(monkeypatch):
    bare = parse(SLURM, monkeypatch)
    assert bare["executor"] == "slurm"
    assert not any(e.startswith(("slurm_account=", "slurm_partition=")) for e in bare["default-resources"])
    assert not any(re.search(r":(gpu_model|slurm_partition)=", e) for e in bare["set-resources"])

    site = parse(
        SLURM,
        monkeypatch,
        LATEDECAY_SLURM_ACCOUNT="proj42",
        LATEDECAY_SLURM_PARTITION="cpu",
        LATEDECAY_SLURM_GPU_PARTITION="gpu_h100",
        LATEDECAY_GPU_MODEL="h100",
    )
    assert {"slurm_account=proj42", "slurm_partition=cpu"} <= set(site["default-resources"])
    rules = per_rule(site["set-resources"])
    for rule in GPU_RULES:
        picked = {k: rules[rule].get(k) for k in ("gpu", "gpu_model", "slurm_partition")}
        assert picked == {"gpu": "1", "gpu_model": "h100", "slurm_partition": "gpu_h100"}, rule
    # Without a GPU partition, GPU jobs go to the general partition.
    only_part = parse(SLURM, monkeypatch, LATEDECAY_SLURM_PARTITION="cpu")
    assert {per_rule(only_part["set-resources"])[r]["slurm_partition"] for r in GPU_RULES} == {"cpu"}


def test_gpu_rules_get_gpus_and_cpu_rules_do_not(monkeypatch):
    profile = parse(
        SLURM,
        monkeypatch,
        LATEDECAY_SLURM_ACCOUNT="proj42",
        LATEDECAY_SLURM_PARTITION="cpu",
        LATEDECAY_SLURM_GPU_PARTITION="gpu_h100",
    )
    for rule in GPU_RULES:
        line = shlex.split(sbatch_line(profile, rule))
        assert "--gpus=1" in line and "-p" in line and line[line.index("-p") + 1] == "gpu_h100", line
        assert "--cpus-per-task=4" in line and line[line.index("-A") + 1] == "proj42"
        assert not any(a.startswith("--ntasks") for a in line)  # the plugin's GPU form
    for rule in CPU_RULES:
        line = shlex.split(sbatch_line(profile, rule))
        assert not any(a.startswith(("--gpus", "--gres")) for a in line), line
        assert line[line.index("-p") + 1] == "cpu" and "--ntasks=1" in line
        assert {"--mem", "-t"} <= set(line)  # default-resources: never an unbounded job
    # A chunk killed at its time limit comes back with a longer one.
    chunk = per_rule(profile["set-resources"])["landscape_chunk"]["runtime"]
    assert [evaluate(chunk, attempt) for attempt in (1, 2, 3)] == [15, 30, 45]
    model = parse(SLURM, monkeypatch, LATEDECAY_GPU_MODEL="a100")
    assert "--gpus=a100:1" in shlex.split(sbatch_line(model, "landscape_chunk"))


def test_no_gpu_or_reserved_flags_in_slurm_extra(monkeypatch):
    for path in (SLURM, OVERLAY):
        profile = parse(path, monkeypatch)
        entries = profile.get("set-resources", []) + profile.get("default-resources", [])
        assert not re.search(r"\bgpus=|nvidia_gpu=", "\n".join(entries))  # silently ignored names
        for rule, resources in per_rule(profile.get("set-resources", [])).items():
            if "slurm_extra" in resources:  # only --signal; the plugin accepts it
                extra = evaluate(resources["slurm_extra"])
                assert rule in TRAIN_RULES and shlex.split(extra)[0].startswith("--signal="), (rule, extra)
                validate_slurm_extra(SimpleNamespace(resources=SimpleNamespace(slurm_extra=extra)))


def test_training_jobs_are_signalled_ahead_of_their_time_limit(monkeypatch):
    """SIGTERM to the job steps (no "B:", which reaches the batch shell only) 120 s before
    the limit: the training script saves its resume state and the retry resumes."""
    profile = parse(SLURM, monkeypatch)
    for rule in TRAIN_RULES:
        assert "--signal=TERM@120" in shlex.split(sbatch_line(profile, rule)), rule
    assert not any("--signal" in sbatch_line(profile, rule) for rule in GPU_RULES - TRAIN_RULES)
    site = parse(SLURM, monkeypatch, LATEDECAY_SLURM_SIGNAL="USR1@600")
    assert "--signal=USR1@600" in shlex.split(sbatch_line(site, "train_main"))


def test_retries_and_resume_settings(monkeypatch):
    profile = parse(SLURM, monkeypatch)
    default = parse(DEFAULT, monkeypatch)
    assert int(profile["retries"]) >= 1
    # sacct reports a hand-cancelled job as "CANCELLED by <uid>", which plugin 2.8.0 never
    # recognises (Snakemake would wait forever); squeue says CANCELLED and it is retried.
    assert profile["slurm-status-command"] == "squeue"
    assert default["rerun-incomplete"] == "True" and default["keep-going"] == "True"


def test_landscape_chunks_share_one_gpu_allocation(monkeypatch):
    profile = parse(SLURM, monkeypatch)
    assert flat(profile["groups"]) == {"landscape_chunk": "landscape"}
    assert int(flat(profile["group-components"])["landscape"]) > 1
    # gpu is local-scope: a group asks for one GPU, not one per chunk, and ungrouped GPU
    # jobs are not throttled by the global limit of 1.
    assert flat(profile["resources"]) == {"gpu": "1"}
    assert flat(profile["set-resource-scopes"]) == {"gpu": "local"}


def test_default_workflow_profile_holds_only_portable_keys(monkeypatch):
    default = parse(DEFAULT, monkeypatch)
    forbidden = {
        "cores",
        "executor",
        "default-resources",
        "set-resources",
        "set-threads",
        "jobs",
        "software-deployment-method",
        "sdm",
        "groups",
        "group-components",
        "resources",
    }
    assert default and not forbidden & default.keys()
    # It is loaded with --profile slurm too and wins key by key: it must not redefine a
    # key of the SLURM profile or its overlay.
    for path in (SLURM, OVERLAY):
        assert not default.keys() & parse(path, monkeypatch).keys(), path


def test_overlay_keeps_the_real_gpu_requests(monkeypatch):
    overlay = parse(OVERLAY, monkeypatch)
    # Keys the overlay would replace wholesale; GPU requests must come from the real profile.
    assert not {"set-resources", "default-resources", "executor", "groups"} & overlay.keys()
    assert int(overlay["max-threads"]) <= 2


def test_profile_rules_exist_in_the_workflow():
    named = set()
    for path in (SLURM,):
        text = path.read_text()
        for key in ("set-threads", "set-resources", "groups"):
            block = re.search(rf"^{key}:\n((?:  .*\n|\n)*)", text, re.M)
            named |= set(re.findall(r"^  (\w+):", block.group(1), re.M)) if block else set()
    listed = run_snakemake("--list-rules").stdout.split()
    assert named - set(listed) == set(), "profile names rules the workflow does not have"


@pytest.mark.parametrize("profile", ["slurm", "profiles/test-slurm"])
def test_snakemake_accepts_the_profiles(profile):
    args = ["--profile", "slurm"] + (["--profile", profile] if profile != "slurm" else [])
    jobs = planned_jobs("results/seed7/main/epoch2/metrics.json", *args, "--configfile", REPO / "presets" / "tiny.yaml")
    assert jobs["train_main"] == 1


def test_gpu_profile_packs_subpaths_and_caps_gpu_jobs(tmp_path):
    """profiles/gpu: one GPU job at a time (resources gpu=1 against the rules' gpu: 1),
    few GPU jobs (the main path in one, the 11 subpaths of a seed in one, branching from
    its branches.pt, the landscape grid in one), CPU rules free to run beside them."""
    jobs = planned_job_blocks("--profile", "profiles/gpu", "--directory", tmp_path, cwd=REPO)
    names = [name for name, _ in jobs]
    for name in ("init_main", "train_main", "train_subpath_seed7_pack2000", "landscape_chunk", "landscape_paths"):
        assert names.count(name) == 1, name
    assert "train_subpath" not in names
    (pack,) = [text for name, text in jobs if name == "train_subpath_seed7_pack2000"]
    assert re.search(r"input: results/seed7/main/epoch3000/branches.pt, results/data/train.pt", pack)
    for name, text in jobs:
        gpu = re.search(r"resources: .*\bgpu=(\d+)", text)
        on_gpu = name.startswith(("init_main", "train_", "landscape_chunk", "landscape_paths"))
        assert (gpu is not None and gpu[1] == "1") == on_gpu, name
    profile = yaml.safe_load((REPO / "profiles/gpu/profile.yaml").read_text())
    assert profile["resources"] == {"gpu": 1} and profile["cores"] == "all"


def test_gpu_profile_runs_a_preflight_ahead_of_every_gpu_job(tmp_path):
    """Each GPU job reads its own preflight flag, made by a gpu_preflight job planned before
    it; the CPU presets plan none."""
    jobs = planned_job_blocks("--profile", "profiles/gpu", "--directory", tmp_path, cwd=REPO)
    order = {}
    for position, (name, text) in enumerate(jobs):
        if name == "gpu_preflight":
            order[re.search(r"output: (\S+)", text)[1]] = position
    gpu_jobs = [(i, name, text) for i, (name, text) in enumerate(jobs) if re.search(r"\bgpu=1\b", text)]
    assert {name.split("_seed")[0] for _, name, _ in gpu_jobs} == GPU_RULES
    assert len(order) == len(gpu_jobs) == 5
    for position, name, text in gpu_jobs:
        (flag,) = re.findall(r"results/\.preflight/[^\s,]+\.json", re.search(r"input: (.*)", text)[1])
        assert order[flag] < position, name
    assert "gpu_preflight" not in planned_jobs("--configfile", "presets/tiny.yaml", "--directory", tmp_path / "cpu")
