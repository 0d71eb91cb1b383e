"""The CPU's kernels in the job log: which bf16 unit oneDNN uses, read from the CPU flags,
and a warning where bf16 is emulated. Never a setting chosen from the machine."""

import logging

import pytest

from latedecay.nn import cpu_isa
from latedecay.nn.device import setup

AMX = {"avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}  # Sapphire Rapids
ZEN4 = {"avx512f", "avx512_bf16"}
AVX2 = {"avx2", "fma"}


def write_cpuinfo(path, flags, model="Test CPU"):
    cpu = f"processor\t: {{}}\nmodel name\t: {model}\nflags\t\t: {' '.join(sorted(flags))}\n"
    path.write_text(cpu.format(0) + "\n" + cpu.format(1).replace(model, "Other CPU"))
    return path


def test_cpuinfo_reads_the_first_cpu(tmp_path):
    model, flags = cpu_isa.cpuinfo(write_cpuinfo(tmp_path / "cpuinfo", ZEN4, "AMD EPYC"))
    assert (model, flags) == ("AMD EPYC", frozenset(ZEN4))
    assert cpu_isa.cpuinfo(tmp_path / "absent") == (None, None)


def never():
    raise AssertionError("AMX asked of a CPU without it")


@pytest.mark.parametrize(
    "flags, cap, amx, unit",
    [
        (AMX, None, lambda: True, "amx_bf16"),
        (AMX, None, lambda: False, "avx512_bf16"),  # the OS refuses the tiles: AVX512-BF16 remains
        (AMX, "AVX512_CORE_BF16", lambda: True, "avx512_bf16"),
        (AMX, "AVX512_CORE", lambda: True, None),
        (ZEN4, None, never, "avx512_bf16"),
        (ZEN4, "AVX2", never, None),
        (AVX2, None, never, None),
        (None, None, never, "unknown"),
    ],
)
def test_bf16_unit_from_flags_and_the_onednn_cap(flags, cap, amx, unit):
    assert cpu_isa.bf16_unit(flags, cap, amx) == unit


def test_emulated_bf16_warns_and_fp32_does_not(tmp_path, monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    info = write_cpuinfo(tmp_path / "cpuinfo", AVX2)
    line, warning = cpu_isa.report("bf16", info)
    assert line.startswith("CPU Test CPU: ATen kernels ") and line.endswith("bf16 kernels on no bf16 unit (emulated)")
    assert "emulated" in warning and "train.precision: fp32" in warning
    assert cpu_isa.report("fp32", info)[1] is None
    line, warning = cpu_isa.report("bf16", write_cpuinfo(tmp_path / "zen4", ZEN4))
    assert line.endswith("bf16 kernels on avx512_bf16") and warning is None
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    line, warning = cpu_isa.report("bf16", tmp_path / "zen4")
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in line and warning
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "all")
    assert cpu_isa.onednn_cap() is None and cpu_isa.report("bf16", tmp_path / "zen4")[1] is None


def test_a_cpu_job_logs_its_kernels(caplog):
    with caplog.at_level(logging.INFO, logger="latedecay"):
        setup("cpu", 1, "bf16")
    assert any(r.getMessage().startswith("CPU ") and "bf16 kernels on" in r.getMessage() for r in caplog.records)
