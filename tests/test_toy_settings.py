"""Toy config: merged per-experiment settings, pruning for exact reruns, cross-key checks."""

import copy

import pytest
import yaml

from conftest import REPO
from latedecay.config import checks as config_checks
from latedecay.toy import settings

EXPERIMENTS = tuple(settings.ROLES)  # every toy experiment, in config order


@pytest.fixture()
def cfg():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_every_experiment_is_configured(cfg):
    assert set(cfg["toy"]["experiments"]) == set(EXPERIMENTS)


def test_schema_names_the_same_experiments():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    experiments = schema["properties"]["toy"]["properties"]["experiments"]
    assert experiments["required"] == list(EXPERIMENTS)
    assert list(experiments["properties"]) == list(EXPERIMENTS)


def test_named_groups_are_experiments():
    groups = [settings.LINEAR_MIXING, settings.LATE_DECAY_CHECKS, settings.CONTRASTS, settings.THEORY_INPUTS]
    assert all(set(g) <= set(EXPERIMENTS) for g in groups)
    assert set(EXPERIMENTS) - set(settings.THEORY_INPUTS) == {settings.FIG4}


def test_overrides_win_and_unused_keys_are_pruned(cfg):
    toy = cfg["toy"]
    linear = settings.effective(toy, "linear_minibatch")
    assert linear["model"] == "linear" and linear["simulator"] == "minibatch"
    assert not {"gamma", "sigma", "sde_substeps", "decay_factor", "gradient_flow_lr"} & set(linear)
    sde = settings.effective(toy, "linear_sde")
    assert "sde_substeps" in sde and "batch" not in sde
    late = settings.effective(toy, "late_decay")
    assert late["decay_factor"] == toy["sgd"]["decay_factor"] and late["gamma"] == toy["gamma"]
    fig4 = settings.effective(toy, "fig4")
    assert "teacher_norm" not in fig4 and "init_norm" not in fig4 and "d" not in fig4
    assert list(late) == sorted(late)  # params compare by repr: keep the order fixed


def changed_experiments(cfg, edit):
    before = {e: settings.effective(cfg["toy"], e) for e in EXPERIMENTS}
    new = copy.deepcopy(cfg)
    edit(new["toy"])
    return {e for e in EXPERIMENTS if settings.effective(new["toy"], e) != before[e]}


def test_one_sgd_key_changes_exactly_the_experiments_that_read_it(cfg):
    def set_sgd(key, value):
        return lambda toy: toy["sgd"].__setitem__(key, value)

    assert changed_experiments(cfg, set_sgd("sde_substeps", 8)) == {"linear_sde"}
    assert changed_experiments(cfg, set_sgd("decay_factor", 0.2)) == {"late_decay", "linear_late_decay"}
    assert changed_experiments(cfg, set_sgd("sigma", 0.3)) == set(EXPERIMENTS) - {
        "linear_minibatch",
        "minibatch",
        "fig4",
    }
    gamma = changed_experiments(cfg, lambda toy: toy.__setitem__("gamma", 3))
    assert gamma == {"drift", "late_decay", "minibatch", "n1", "fig4"}
    assert changed_experiments(cfg, lambda toy: toy["experiments"]["drift"].__setitem__("steps", 1000)) == {"drift"}


def test_paper_toy_config_passes_the_checks(cfg):
    config_checks.check_toy(cfg)
