"""Parse Snakemake's dry runs: the job table, and each planned job's block."""

import re

from conftest import run_snakemake


def planned_jobs(*args, cwd=None):
    """Run ``snakemake -n --quiet rules`` and return {rule: count} of the first table."""
    kwargs = {"cwd": cwd} if cwd else {}
    proc = run_snakemake(
        *args, "-n", "--quiet", "rules", **kwargs
    )  # options after the args: --quiet takes several values
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        counts[match[1]] = int(match[2])
    counts.pop("total", None)
    return counts


_JOB = re.compile(r"^(?:local)?rule (\w+):$", re.M)


def planned_job_blocks(*args, cwd=None):
    """Run ``snakemake -n`` and return (rule, the job's printed block) for every planned job."""
    kwargs = {"cwd": cwd} if cwd else {}
    out = run_snakemake("-n", *args, **kwargs).stdout
    starts = [m.start() for m in _JOB.finditer(out)] + [len(out)]
    return [(_JOB.match(out, a)[1], out[a:b]) for a, b in zip(starts, starts[1:])]
