"""Workflow hygiene: lint, format, and values reaching scripts only via params."""

import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, run_snakemake
from dag import planned_job_blocks

SMK_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def test_snakemake_lint_is_clean():
    proc = run_snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run([snakefmt, "--check", *SMK_FILES], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_black_is_clean():
    """The Python code as black writes it (pyproject.toml: line length 120)."""
    black = Path(sys.executable).with_name("black")
    proc = subprocess.run([black, "--check", "."], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scripts_never_read_snakemake_config():
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "workflow" / "scripts").rglob("*.py")
        if re.search(r"snakemake\.config\b", path.read_text())
    ]
    assert offenders == []


def test_every_rule_has_a_log(tmp_path):
    """Every job of the whole DAG, with two seeds and packed subpaths (generated rules), logs."""
    extra = tmp_path / "packs.yaml"
    extra.write_text("subpath: {pack: 4}\nreplicates: {seeds: [7, 8]}\n")
    blocks = planned_job_blocks("--configfile", extra, "--directory", tmp_path, cwd=tmp_path)
    rules = {rule for rule, _ in blocks}
    assert {"train_main", "train_subpath_seed8_pack2400", "landscape_chunk", "toy_simulate"} <= rules
    missing = sorted({rule for rule, text in blocks if rule != "all" and "\n    log: " not in text})
    assert missing == []


PYPLOT = re.compile(
    r"^[ \t]*(?:import\s+(?:matplotlib\.pyplot|pylab)\b"
    r"|from\s+(?:matplotlib\.pyplot|pylab)\s+import\b"
    r"|from\s+matplotlib\s+import\s+[^#\n]*\bpyplot\b)"
    r"|\bplt\.\w",
    re.M,
)


def test_no_pyplot_in_the_scripts():
    """Figures are built on matplotlib.figure.Figure inside plots.style.context(): no
    pyplot state machine, no backend, no figures to close."""
    offenders = [
        f"{path.relative_to(REPO)}:{text[: m.start()].count(chr(10)) + 1}"
        for path in sorted((REPO / "workflow" / "scripts").rglob("*.py"))
        for text in [path.read_text()]
        for m in PYPLOT.finditer(text)
    ]
    assert offenders == []


def test_every_script_rule_declares_the_code_it_runs():
    """Each rule's params carry the digest of the very entry script it runs (provenance)."""
    for path in SMK_FILES:
        text = path.read_text()
        rules = re.split(r"^\s*rule\b", text, flags=re.M)[1:]
        for body in rules:
            script = re.search(r'script:\s*"\.\./scripts/(\w+\.py)"', body)
            if script:
                assert f'code=code("{script[1]}")' in body, (path.name, script[1])
