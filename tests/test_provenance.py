"""Package code is a declared dependency: the digest follows the code an entry script runs."""

import shutil
from pathlib import Path

import pytest

from conftest import REPO
from latedecay.provenance import code_digest, package_modules

SCRIPTS = REPO / "workflow" / "scripts"


@pytest.fixture
def scripts(tmp_path):
    copy = tmp_path / "scripts"
    shutil.copytree(SCRIPTS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    code_digest.cache_clear()
    yield copy
    code_digest.cache_clear()


def edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def test_training_imports_its_modules_and_not_the_figures():
    modules = package_modules(SCRIPTS, SCRIPTS / "train.py")
    assert {"latedecay", "latedecay.nn", "latedecay.nn.trainer", "latedecay.nn.losses", "latedecay.io"} <= set(modules)
    assert not any(m.startswith(("latedecay.plots", "latedecay.toy", "latedecay.landscape")) for m in modules)


def test_a_code_change_changes_exactly_the_digests_of_scripts_that_run_it(scripts):
    before = {s: code_digest(str(scripts), s) for s in ("train.py", "landscape_chunk.py", "plot_fig2.py")}
    edit(scripts / "latedecay/nn/losses.py", "return 0.5 * (logits - onehot)", "return 0.25 * (logits - onehot)")
    code_digest.cache_clear()
    after = {s: code_digest(str(scripts), s) for s in before}
    assert after["train.py"] != before["train.py"]
    assert after["landscape_chunk.py"] != before["landscape_chunk.py"]  # evaluates with the loss
    assert after["plot_fig2.py"] == before["plot_fig2.py"]


def test_comments_docstrings_and_layout_change_no_digest(scripts):
    before = code_digest(str(scripts), "train.py")
    losses = scripts / "latedecay/nn/losses.py"
    edit(losses, '"""Per-sample losses', '"""Reworded docstring. Per-sample losses')
    edit(losses, "def correct(logits, labels):", "# a new comment\ndef correct(logits,   labels):  # why")
    code_digest.cache_clear()
    assert code_digest(str(scripts), "train.py") == before


def test_relative_imports_are_followed(scripts):
    # job.py imports the trainer relatively (from .trainer import ...)
    edit(scripts / "latedecay/nn/trainer.py", "return total / steps", "return total / steps + 0")
    before = code_digest(str(SCRIPTS), "train.py")
    assert code_digest(str(scripts), "train.py") != before
