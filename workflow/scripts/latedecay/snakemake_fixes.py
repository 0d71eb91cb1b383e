"""Repairs of Snakemake bugs the workflow runs into, applied by ``common.smk`` when planning.

Each repair first checks that the installed Snakemake has the bug, so that it becomes a
no-op once the bug is fixed upstream.
"""

from snakemake.persistence import ParamsChange


def _has_unchanged_files_bug():
    """Whether an unchanged ``ParamsChange`` still iterates over its files (Snakemake 9.27.1)."""
    return bool(list(ParamsChange(files={"unchanged"})))


def fix_list_params_changes():
    """Make ``snakemake --list-changes params`` list only outputs whose params changed.

    Snakemake builds one ``ParamsChange`` per job by or-ing one per output file; ``a | b``
    returns ``b`` whole when ``a`` holds no change, unchanged files included, and the
    listing iterates those files without asking whether anything changed. So every job
    with recorded params showed its last output (``branches.pt``, ``snapshots.pt``...),
    while ``-n``, which asks ``bool()``, planned nothing. Returns whether it patched.
    """
    if not _has_unchanged_files_bug():
        return False
    files_of_a_change = ParamsChange.__iter__

    def __iter__(self):
        return files_of_a_change(self) if self else iter(())

    ParamsChange.__iter__ = __iter__
    return True
