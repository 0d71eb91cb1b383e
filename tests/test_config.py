"""A bad config stops the run before any job starts, naming the key."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from conftest import REPO, run_snakemake
from latedecay.config_checks import ConfigError, check_config

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def paper_config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def checked(override):
    """Validate config.yaml overlaid with ``override`` as the workflow does."""
    cfg = copy.deepcopy(paper_config())
    update_config(cfg, override)
    validate(cfg, SCHEMA)
    check_config(cfg)
    return cfg


def test_paper_config_and_presets_are_valid():
    checked({})
    for preset in sorted((REPO / "presets").glob("*.yaml")):
        checked(yaml.safe_load(preset.read_text()))


BAD = [
    ({"train": {"batch_size": "125"}}, "batch_size"),  # wrong type
    ({"train": {"momentum": 1.5}}, "momentum"),  # out of range
    ({"main": {"lr": -0.1}}, "lr"),  # out of range
    ({"train": {"lr_typo": 0.1}}, "lr_typo"),  # unknown key
    ({"unknown_section": {}}, "unknown_section"),  # unknown top-level key
    ({"model": {"arch": "resnet18"}}, "arch"),  # not an allowed value
    ({"data": {"eval_set": "validation"}}, "eval_set"),
    ({"subpath": {"decay_epochs": [3100]}}, "subpath.decay_epochs[0]"),  # beyond the run
    ({"subpath": {"decay_epochs": [2000, 2050]}}, "subpath.decay_epochs[1]"),  # not a segment end
    ({"train": {"batch_size": 10000}}, "train.batch_size"),  # larger than the subset
]


@pytest.mark.parametrize("override,key", BAD, ids=[k for _, k in BAD])
def test_bad_config_is_rejected_naming_the_key(override, key):
    with pytest.raises((WorkflowError, ConfigError)) as err:
        checked(override)
    assert key.split(".")[-1].split("[")[0] in str(err.value)
    if isinstance(err.value, ConfigError):
        assert f"'{key}'" in str(err.value)


def test_cli_rejects_bad_config_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"subpath": {"decay_epochs": [3100]}}))
    proc = run_snakemake("-n", "--configfile", bad, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "subpath.decay_epochs[0]" in out
    assert "Job stats" not in out  # failed while parsing, before planning any job
