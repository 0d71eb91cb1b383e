"""The GPU preflight's decisions from faked facts, and its probes on this (CPU) machine."""

import shutil
import sys

import pytest

from latedecay.nn import preflight

GOOD = {
    "torch": "2.14.1",
    "torch_cuda": "13.0",
    "driver": "580.65.06",
    "cuda_available": True,
    "cc": "/usr/bin/gcc",
    "compile_mode": "reduce-overhead",
    "compiler_error": None,
    "compile_error": None,
}


def test_a_good_machine_has_no_problems():
    assert preflight.problems(GOOD) == []


@pytest.mark.parametrize(
    ("changes", "fix"),
    [
        ({"driver": "570.124.06"}, "cu128 recipe"),
        ({"driver": "535.1", "torch_cuda": "12.8"}, None),  # minor-version compatibility
        ({"driver": "520.61", "torch_cuda": "12.8"}, "cu128 recipe"),
        ({"driver": None}, "machine with a GPU"),
        ({"cuda_available": False}, "CUDA_VISIBLE_DEVICES"),
        ({"torch_cuda": None}, "train.device: cpu"),
        ({"compiler_error": "no C compiler found"}, "CC"),
        ({"compiler_error": "no Python headers"}, "train.compile: off"),
        ({"compile_error": "BackendCompilerFailed: boom"}, "train.compile: off"),
    ],
)
def test_each_problem_names_its_fix(changes, fix):
    found = preflight.problems({**GOOD, **changes})
    if fix is None:
        assert found == []
    else:
        assert len(found) == 1 and fix in found[0], found


def test_check_raises_with_every_problem(monkeypatch):
    monkeypatch.setattr(preflight, "facts", lambda mode: {**GOOD, "driver": "550.1", "compile_error": "x"})
    with pytest.raises(preflight.PreflightFailed, match=r"(?s)driver 550.1.*cu128.*compile.*train.compile: off"):
        preflight.check("reduce-overhead")


def test_compiler_lookup_follows_triton(monkeypatch):
    assert preflight.find_compiler({"CC": "clang-17"}) == "clang-17"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert preflight.find_compiler({}) is None
    assert "no C compiler" in preflight.compiler_check(None)


@pytest.mark.skipif(preflight.find_compiler() is None, reason="no C compiler here")
def test_the_compiler_probe_builds_against_python_headers():
    assert preflight.compiler_check(preflight.find_compiler()) is None
    assert "does not run" in preflight.compiler_check("/nonexistent/cc")
    assert "cannot build" in preflight.compiler_check(f"{sys.executable} -c 'raise SystemExit(1)' --")


def test_facts_on_a_cpu_machine_skip_the_gpu_probes():
    gathered = preflight.facts("off")
    assert gathered["compiler_error"] is None and gathered["compile_error"] is None
    assert gathered["cuda_available"] is False and preflight.problems(gathered)  # no GPU here: reported
