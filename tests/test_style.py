"""Workflow hygiene: lint, format, and values reaching scripts only via params."""

import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, run_snakemake

SMK_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def test_snakemake_lint_is_clean():
    proc = run_snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run([snakefmt, "--check", *SMK_FILES], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scripts_never_read_snakemake_config():
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "workflow" / "scripts").rglob("*.py")
        if re.search(r"snakemake\.config\b", path.read_text())
    ]
    assert offenders == []


def test_every_rule_has_a_log():
    text = "\n".join(path.read_text() for path in SMK_FILES)
    rules = re.findall(r"^[ \t]*(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M)
    assert rules, "no rules found"
    missing = [name for name, body in rules if name != "all" and "    log:" not in body]
    assert missing == []
