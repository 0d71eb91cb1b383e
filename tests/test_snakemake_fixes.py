"""The workflow's repairs of Snakemake bugs (latedecay.snakemake_fixes)."""

from snakemake.persistence import ParamsChange

from latedecay.snakemake_fixes import fix_list_params_changes


def test_an_unchanged_params_record_lists_no_file():
    fix_list_params_changes()
    assert not fix_list_params_changes()  # applied once: the second call finds no bug
    unchanged = ParamsChange() | ParamsChange(files={"a"}) | ParamsChange(files={"b"})
    assert not unchanged and list(unchanged) == []  # --list-changes params iterates this
    changed = unchanged | ParamsChange(only_new={"0.02"}, only_old={"0.01"}, files={"c"})
    assert list(changed) == ["c"]
