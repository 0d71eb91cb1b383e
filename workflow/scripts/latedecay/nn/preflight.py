"""The GPU preflight: what a CUDA job needs besides a GPU, checked before the first one.

Without these, every GPU job dies at its first CUDA call or its first compile, after its
start-up: a driver older than the CUDA build of torch (the pinned wheel is CUDA 13.0:
driver >= 580), no C compiler or no Python headers (Triton builds a small C module at its
first compile), or a compile that fails on this machine. ``facts`` gathers them and
``problems`` decides from them alone, each message naming its fix.
"""

import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

# Oldest NVIDIA driver (major) per CUDA major: 13.x needs 580; 12.x builds run on 525 and
# later (CUDA minor-version compatibility).
MIN_DRIVER = {13: 580, 12: 525, 11: 450}

CU128 = "install torch's CUDA 12.8 build instead (README, 'CUDA builds': the cu128 recipe)"
NO_COMPILE = "or set train.compile: off (eager: slower, same checkpoints format)"

_PROBE = "#include <Python.h>\nint latedecay_probe(void) { return Py_IsInitialized(); }\n"


def driver_version():
    """The NVIDIA kernel driver's version ("580.65.06"), or None without one."""
    proc = Path("/proc/driver/nvidia/version")
    if proc.exists():
        for word in proc.read_text().split():
            if word[:1].isdigit() and word.count(".") >= 1:
                return word
    smi = shutil.which("nvidia-smi")
    if smi:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.split()[0]
    return None


def find_compiler(environ=os.environ):
    """The C compiler Triton would use: $CC, else gcc, else clang (Triton's order), plus cc."""
    if environ.get("CC"):
        return environ["CC"]
    return next((shutil.which(name) for name in ("gcc", "clang", "cc") if shutil.which(name)), None)


def compiler_check(cc):
    """None if ``cc`` builds a C file against this Python's headers, else the reason."""
    if cc is None:
        return "no C compiler found (none of $CC, gcc, clang, cc)"
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        return f"no Python headers: {include}/Python.h is missing"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text(_PROBE)
        command = [*cc.split(), "-c", "-fPIC", str(source), "-I", include, "-o", str(source.with_suffix(".o"))]
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except OSError as err:
            return f"C compiler {cc!r} does not run: {err}"
    if out.returncode != 0:
        return f"C compiler {cc!r} cannot build against {include}: {out.stderr.strip()[-400:]}"
    return None


def compile_check(mode, device="cuda"):
    """None if a tiny function compiles and runs in ``mode`` on ``device``, else the error."""
    import torch

    def tiny(x):
        return torch.relu(x @ x.T).sum(1) * 2 + 1

    try:
        fn = torch.compile(tiny, mode=None if mode == "default" else mode, dynamic=False)
        x = torch.ones(8, 8, device=device)
        for _ in range(3):  # reduce-overhead records its CUDA graph on a later call
            got = fn(x)
        if not torch.equal(got.cpu(), tiny(x).cpu()):
            return f"compiled result differs from eager: {got.tolist()}"
    except Exception as err:  # noqa: BLE001 - any failure is the finding
        return f"{type(err).__name__}: {str(err).strip()[:800]}"
    return None


def facts(compile_mode):
    """What ``problems`` decides from, gathered on this machine (CUDA present or not)."""
    import torch

    cc = find_compiler()
    needs_compile = compile_mode != "off"
    gathered = {
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "driver": driver_version(),
        "cuda_available": torch.cuda.is_available(),
        "cc": cc,
        "compile_mode": compile_mode,
        "compiler_error": compiler_check(cc) if needs_compile else None,
        "compile_error": None,
    }
    if gathered["cuda_available"]:
        gathered["device_name"] = torch.cuda.get_device_name(0)
        if needs_compile and gathered["compiler_error"] is None:
            gathered["compile_error"] = compile_check(compile_mode)
    return gathered


def _major(version):
    return int(str(version).split(".")[0])


def problems(f):
    """Messages, each naming its fix, for the facts ``f``; empty when a GPU job can run."""
    found = []
    if f["torch_cuda"] is None:
        return [
            f"torch {f['torch']} is a CPU-only build: install the CUDA one (requirements.txt), "
            "or set train.device: cpu"
        ]
    need = MIN_DRIVER.get(_major(f["torch_cuda"]))
    if f["driver"] is None:
        found.append("no NVIDIA driver found (/proc/driver/nvidia/version, nvidia-smi): run on a machine with a GPU")
    elif need and _major(f["driver"]) < need:
        found.append(
            f"NVIDIA driver {f['driver']} is older than torch's CUDA {f['torch_cuda']} needs (>= {need}): "
            f"update the driver, or {CU128}"
        )
    elif not f["cuda_available"]:
        found.append(
            f"torch sees no CUDA device (driver {f['driver']}): check CUDA_VISIBLE_DEVICES and the "
            f"driver, or {CU128}"
        )
    if f["compiler_error"]:
        found.append(
            f"train.compile: {f['compile_mode']} needs a C compiler and Python headers for Triton: "
            f"{f['compiler_error']}. Install gcc and python3-dev, or point CC at a compiler, {NO_COMPILE}"
        )
    if f["compile_error"]:
        found.append(
            f"a tiny torch.compile (mode {f['compile_mode']}) failed on this machine: {f['compile_error']}. "
            f"Fix the toolchain above, {NO_COMPILE}"
        )
    return found


class PreflightFailed(RuntimeError):
    """A GPU job could not run on this machine; the message says what to fix."""


def check(compile_mode):
    """The facts of this machine; raises PreflightFailed naming every problem and its fix."""
    gathered = facts(compile_mode)
    found = problems(gathered)
    if found:
        raise PreflightFailed("GPU preflight failed:\n- " + "\n- ".join(found))
    return gathered
