"""Which CPU instructions compute a job's numbers, for its log.

No setting is ever chosen from the machine: train.precision says what runs. But the
kernels do depend on it. bf16 convolutions and matmuls go through oneDNN, which uses
AMX tiles (flag amx_bf16: Intel Sapphire Rapids and later), AVX512-BF16 instructions
(avx512_bf16: Intel Cooper Lake, AMD Zen 4 and later), or else emulates bf16 with fp32
instructions plus conversions, slower than fp32 itself (README, "bf16 on CPU"). Even
fp32 differs in the last bits between oneDNN's AVX2 and AVX-512 kernels. So the log
names the CPU, the kernels' ISA and, under bf16, the unit used. The flags come from
/proc/cpuinfo: a timing probe at every job start would cost more than it tells.
"""

import os
from pathlib import Path

import torch

# The x86 bf16 units, fastest first, with the ONEDNN_MAX_CPU_ISA caps that still allow each.
_AMX_CAPS = ("AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512_AMX_2")
BF16_UNITS = {
    "amx_bf16": _AMX_CAPS,
    "avx512_bf16": ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512", "AVX10_2_512", *_AMX_CAPS),
}
UNIT_NAMES = {
    "amx_bf16": "AMX (amx_bf16)",
    None: "no bf16 unit (emulated)",
    "unknown": "an unknown unit (no x86 /proc/cpuinfo flags)",
}
EMULATED = (
    "train.precision is bf16, but this CPU has no bf16 unit (no amx_bf16 or avx512_bf16 flag, or "
    "ONEDNN_MAX_CPU_ISA excludes it): bf16 is emulated, and emulated bf16 trained at about half the speed "
    "of fp32 where measured (README, 'bf16 on CPU'). Consider train.precision: fp32."
)


def cpuinfo(path="/proc/cpuinfo"):
    """(model name, x86 feature flags) of the first CPU; (None, None) where there is no x86
    /proc/cpuinfo (macOS, Windows, Arm)."""
    try:
        first = Path(path).read_text().split("\n\n", 1)[0]  # CPUs are blank-line separated
    except OSError:
        return None, None
    fields = dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in first.splitlines() if ":" in line))
    flags = fields.get("flags")
    return fields.get("model name"), None if flags is None else frozenset(flags.split())


def bf16_unit(flags, cap, amx_usable):
    """The bf16 unit oneDNN uses: "amx_bf16", "avx512_bf16", None (emulated), or "unknown"
    (no x86 flags to read). ``cap``: onednn_cap(); ``amx_usable()``: whether the OS
    lets this process use the AMX tiles (asked only of a CPU that has them)."""
    if flags is None:
        return "unknown"
    for unit, caps in BF16_UNITS.items():
        allowed = cap is None or cap in caps
        if unit in flags and allowed and (unit != "amx_bf16" or amx_usable()):
            return unit
    return None


def onednn_cap():
    """ONEDNN_MAX_CPU_ISA upper-cased, or None where it caps nothing."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    return None if cap in ("", "ALL", "DEFAULT") else cap


def _amx_usable():
    """torch's request to Linux for the AMX tile state (what oneDNN needs to use AMX)."""
    init = getattr(torch.cpu, "_init_amx", None)
    return bool(init and init())


def report(precision, path="/proc/cpuinfo"):
    """(log line, warning or None) for a CPU job of train.precision ``precision``."""
    model, flags = cpuinfo(path)
    cap = onednn_cap()
    line = f"CPU {model or 'unknown'}: ATen kernels {torch.backends.cpu.get_cpu_capability()}"
    if cap:
        line += f", oneDNN capped at ONEDNN_MAX_CPU_ISA={cap}"
    if precision != "bf16":
        return line, None
    unit = bf16_unit(flags, cap, _amx_usable)
    line += f", bf16 kernels on {UNIT_NAMES.get(unit, unit)}"
    if unit is not None:
        return line, None
    return line, EMULATED
