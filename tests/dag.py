"""Parse Snakemake's dry-run job table."""

import re

from conftest import run_snakemake


def planned_jobs(*args, cwd=None):
    """Run ``snakemake -n --quiet rules`` and return {rule: count} of the first table."""
    kwargs = {"cwd": cwd} if cwd else {}
    proc = run_snakemake(*args, "-n", "--quiet", "rules", **kwargs)  # options after the args: --quiet takes several values
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
