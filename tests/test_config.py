"""A bad config stops the run before any job starts, naming the key: one table of bad
configs through the function the workflow calls, plus the CLI. (The schema-driven fuzz
of every key is in test_config_fuzz.py.)"""

import copy
import os
import re
import shutil
import subprocess

import pytest
import yaml
from snakemake.utils import update_config

from conftest import REPO, _no_scontrol_path, run_snakemake, snakemake_bin
from latedecay.config import ConfigError, ConfigFileError, check_parses, validate_config
from latedecay.config.errors import key_parts

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def paper_config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def checked(override=None, changes=(), files=()):
    """config.yaml with ``override`` merged (as Snakemake merges --configfile) and then
    ``changes`` ({dotted key: value}) applied, validated as the workflow does."""
    cfg = paper_config()
    update_config(cfg, copy.deepcopy(override or {}))
    for key, value in dict(changes).items():
        set_key(cfg, key, value)
    validate_config(cfg, SCHEMA, files)
    return cfg


def set_key(cfg, key, value):
    """Set 'a.b[2].c' in ``cfg``; an index one past a list's end appends."""
    *parents, last = key_parts(key)
    for part in parents:
        cfg = cfg[part]
    if isinstance(last, int) and last == len(cfg):
        cfg.append(value)
    else:
        cfg[last] = value


def test_paper_config_and_presets_are_valid():
    checked(files=[REPO / "config.yaml"])
    for preset in sorted((REPO / "presets").glob("*.yaml")):
        checked(yaml.safe_load(preset.read_text()), files=[REPO / "config.yaml", preset])


def test_defaults_are_filled_in():
    cfg = paper_config()
    del cfg["train"]["resume_every"], cfg["landscape"]["main_start"]
    validate_config(cfg, SCHEMA)
    assert cfg["train"]["resume_every"] == 10 and cfg["landscape"]["main_start"] == 0


NAN, INF = float("nan"), float("inf")
LATE = [0, 1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000]  # late_decay's decay_steps

# (changes {dotted key: value}, the key the error names, a fragment of its message)
BAD = [
    # schema: types, ranges, enums, unknown keys
    ({"train.batch_size": "125"}, "train.batch_size", "is text, not a number"),
    ({"train.momentum": 1.5}, "train.momentum", "greater than or equal to the maximum of 1"),
    ({"main.lr": -0.1}, "main.lr", "less than or equal to the minimum of 0"),
    ({"train.lr_typo": 0.1}, "train.lr_typo", "unknown key"),
    ({"unknown_section": {}}, "unknown_section", "unknown key"),
    ({"model.arch": "resnet18"}, "model.arch", "is not one of"),
    ({"data.eval_set": "validation"}, "data.eval_set", "is not one of"),
    ({"subpath.decay_epochs": []}, "subpath.decay_epochs", "should be non-empty"),
    ({"fig1.final_window": 0}, "fig1.final_window", "minimum"),
    ({"fig1.smooth_epochs": 0}, "fig1.smooth_epochs", "minimum"),
    ({"fig1.heatmap_train": "full"}, "fig1.heatmap_train", "is not one of"),
    ({"fig1.log_color": "yes"}, "fig1.log_color", "is not of type 'boolean'"),
    ({"train.deterministic": "yes"}, "train.deterministic", "is not of type 'boolean'"),
    ({"fig1.typo": 1}, "fig1.typo", "unknown key"),
    ({"verdict.margin": 0}, "verdict.margin", "less than or equal to the minimum of 0"),
    ({"verdict.margin_acc": "0.005"}, "verdict.margin_acc", "is text, not a number"),
    ({"verdict.typo": 1}, "verdict.typo", "unknown key"),
    ({"landscape.bn_stats": "running"}, "landscape.bn_stats", "is not one of"),
    ({"landscape.points_per_pass": 0}, "landscape.points_per_pass", "less than the minimum of 1"),
    ({"landscape.subpaths": "some"}, "landscape.subpaths", "is not valid under any"),
    ({"landscape.typo": 1}, "landscape.typo", "unknown key"),
    ({"landscape.surface": "flat", "landscape.components": 1}, "landscape.components", "minimum"),
    # non-finite numbers, which schema bounds let through
    ({"main.lr": NAN}, "main.lr", "nan is not a finite number"),
    ({"train.weight_decay": INF}, "train.weight_decay", "inf is not a finite number"),
    ({"toy.sgd.lr": [0.05, -INF]}, "toy.sgd.lr[1]", "-inf is not a finite number"),
    ({"landscape.grid.pc1.min": NAN}, "landscape.grid.pc1.min", "not a finite number"),
    # numbers YAML reads as text (PyYAML: 1e-2 is a string, 1.0e-2 a float)
    ({"train.weight_decay": "1e-4"}, "train.weight_decay", "YAML reads 1e-4 as a string); write 1.0e-4"),
    ({"main.lr": "1E-1"}, "main.lr", "write 1.0e-1"),
    ({"toy.sgd.steps": "2e4"}, "toy.sgd.steps", "write 20000"),
    ({"toy.sgd.lr": ["5e-2"]}, "toy.sgd.lr[0]", "write 5.0e-2"),
    ({"landscape.points_per_pass": "1e1"}, "landscape.points_per_pass", "write 10"),
    ({"main.lr": "inf"}, "main.lr", "numbers must be finite"),
    # cross-key: main path and subpaths
    ({"subpath.decay_epochs": [3100]}, "subpath.decay_epochs[0]", "beyond main.epochs"),
    ({"subpath.ramp_epochs": 501}, "subpath.ramp_epochs", "would not reach subpath.lr within subpath.epochs = 500"),
    ({"subpath.ramp_epochs": -1}, "subpath.ramp_epochs", "minimum"),
    ({"subpath.decay_epochs": [150]}, "subpath.decay_epochs[0]", "multiple of main.segment_epochs = 100"),
    ({"subpath.decay_epochs": [2000, 2050]}, "subpath.decay_epochs[1]", "not a main-path branch epoch"),
    (
        {"main.segment_epochs": 3000, "main.branch_every": 200},
        "subpath.decay_epochs[1]",
        "2100 is not a main-path branch epoch (a multiple of main.branch_every = 200",
    ),
    ({"main.branch_every": 0}, "main.branch_every", "0 is less than the minimum of 1"),
    ({"train.batch_size": 6000}, "train.batch_size", "larger than the training subset"),
    # cross-key: landscape
    ({"landscape.subpaths": [2000, 2050]}, "landscape.subpaths[1]", "not one of subpath.decay_epochs"),
    ({"landscape.components": 2}, "landscape.components", "at least 3 components"),
    ({"landscape.chunks": 2000}, "landscape.chunks", "more chunks than the 1302 grid points"),
    ({"landscape.grid.pc1.min": 1, "landscape.grid.pc1.max": 1}, "landscape.grid.pc1.max", "must exceed min"),
    ({"landscape.main_start": 3001}, "landscape.main_start", "beyond main.epochs"),
    # too few snapshots for the PCA (5 components need 6): main epochs 0, 1000, 2000, 3000,
    # none on 500-epoch subpaths; main epochs 1000, 1500, ..., 3000 and no subpath
    ({"train.snapshot_every": 1000}, "landscape.components", "the landscape gets 4"),
    (
        {"train.snapshot_every": 500, "landscape.subpaths": [], "landscape.main_start": 1000},
        "landscape.components",
        "gets 5 (from main.epochs, subpath.epochs, train.snapshot_every = 500, landscape.subpaths",
    ),
    # cross-key: toy experiments
    (
        {"toy.experiments.late_decay.decay_steps": [*LATE, 10**6]},
        "toy.experiments.late_decay.decay_steps[10]",
        "beyond the run",
    ),
    (
        {"toy.experiments.late_decay.steps_after_decay": 10**5},
        "toy.experiments.late_decay.steps_after_decay",
        "beyond the run",
    ),
    ({"toy.experiments.minibatch.batch": 10}, "toy.experiments.minibatch.batch", "batch < n"),
    ({"toy.experiments.linear_sde.batch": 3}, "toy.experiments.linear_sde.batch", "full-batch"),
    ({"toy.experiments.fig4.init": [1.0, 2.0, 3.0]}, "toy.experiments.fig4.init", "the model has d = 2"),
    ({"toy.experiments.linear_label_noise.starts": 1}, "toy.experiments.linear_label_noise.starts", "two coupled"),
    ({"toy.experiments.n1.model": "linear"}, "toy.experiments.n1.model", "needs model = reparam"),
    ({"toy.sgd.batch": 11}, "toy.sgd.batch", "exceeds the n = 10 samples"),
    ({"toy.experiments.late_decay.lr": [0.05, 0.1]}, "toy.experiments.late_decay.lr", "only the drift"),
]


@pytest.mark.parametrize("changes,key,fragment", BAD, ids=[f"{k}:{f}" for _, k, f in BAD])
def test_bad_config_is_rejected_naming_the_key(changes, key, fragment):
    with pytest.raises(ConfigError) as err:
        checked(changes=changes)
    assert err.value.key == key and str(err.value).startswith(f"config key '{key}': ")
    assert fragment in str(err.value)


def test_one_more_snapshot_than_components_is_enough():
    few = {"train.snapshot_every": 500, "landscape.subpaths": [3000], "landscape.main_start": 1000}
    checked(changes={**few, "subpath.epochs": 500})  # 5 main + 1 subpath snapshot (epoch 3500)
    with pytest.raises(ConfigError, match="landscape gets 5"):
        checked(changes={**few, "subpath.epochs": 499})  # the subpath ends before its first snapshot


def test_rejections_name_the_file_and_line_that_set_the_value(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  momentum: 0.9\n  weight_decay: 1e-4\n")
    with pytest.raises(ConfigError, match=re.escape(f"write 1.0e-4 (set in {bad}:3)")):
        checked(yaml.safe_load(bad.read_text()), files=[REPO / "config.yaml", bad])
    # every file holding the value that was rejected is named; config.yaml's lr = 0.1 is not
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("main:\n  lr: .nan\n")
    second.write_text("train:\n  momentum: 0.9\nmain:\n  lr: .nan\n")
    with pytest.raises(ConfigError, match=re.escape(f"not a finite number (set in {first}:2, {second}:4)")):
        checked(yaml.safe_load(second.read_text()), files=[REPO / "config.yaml", first, second])


def test_duplicate_key_names_both_lines(tmp_path):
    dup = tmp_path / "dup.yaml"
    dup.write_text("main:\n  lr: 0.1\n  epochs: 10\n  lr: 0.2\n")
    with pytest.raises(ConfigError, match=r"config key 'main.lr': given twice in .*dup.yaml \(lines 2 and 4\)"):
        checked(files=[dup])


@pytest.mark.parametrize(
    "text, where",
    [
        ("train:\n  momentum: 0.9\n   batch_size: 3\n", "line 3, column 14"),
        ("main:\n\tlr: 0.1\n", "line 2, column 1"),
        ("a: [1, 2\nb: 3\n", "line 2"),
        ("- 1\n- 2\n", "must hold keys at the top level"),
    ],
)
def test_unparseable_config_file_names_file_and_line(tmp_path, text, where):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=f"config file '{re.escape(str(path))}'") as err:
        check_parses(path)
    assert where in str(err.value)
    if "\t" in text:
        assert "not tabs" in str(err.value)


def test_json_config_files_parse(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"main": {"lr": 0.1}}')
    check_parses(path)


def cli_fails(*args, cwd=REPO):
    proc = run_snakemake("-n", *args, cwd=cwd, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Job stats" not in out  # failed while parsing, before planning any job
    return out


def test_cli_rejects_bad_config_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"subpath": {"decay_epochs": [3100]}}))
    assert "config key 'subpath.decay_epochs[0]': decay epoch 3100 is beyond main.epochs" in cli_fails(
        "--configfile", bad
    )


def test_cli_names_the_file_and_line_of_a_text_number(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  weight_decay: 1e-4\n")
    out = cli_fails("--configfile", bad, "--directory", tmp_path)
    assert "config key 'train.weight_decay'" in out and "write 1.0e-4 (set in bad.yaml:2)" in out


def test_unparseable_config_yaml_beside_the_snakefile_names_its_line(tmp_path):
    """The Snakefile's own config.yaml is checked before Snakemake reads it."""
    for name in ("Snakefile", "workflow"):
        (shutil.copytree if name == "workflow" else shutil.copy)(REPO / name, tmp_path / name)
    (tmp_path / "config.yaml").write_text("main:\n  lr: 0.1\n   epochs: 3\n")
    proc = subprocess.run(
        [snakemake_bin(), "-n"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": _no_scontrol_path()},
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in out
    assert "config file 'config.yaml', line 3, column 10: not valid YAML" in out


def test_unparseable_cli_config_file_stops_before_any_job(tmp_path):
    """Snakemake reads --configfile files before the Snakefile, so its own message stays
    (it names no file); check_parses gives file and line for the same file."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  momentum: 0.9\n   batch_size: 3\n")
    cli_fails("--configfile", bad)
    with pytest.raises(ConfigFileError, match="line 3"):
        check_parses(bad)


def test_missing_config_file_is_left_to_snakemake(tmp_path):
    check_parses(tmp_path / "absent.yaml")  # optional beside --configfile; Snakemake reports it otherwise
