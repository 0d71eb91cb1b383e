"""One GPU per job on a machine with several: a lock file per device.

Snakemake's ``gpu: N`` resource (profiles/gpu) caps how many GPU jobs run at once, but
says nothing about which device each one gets, so every job would land on cuda:0. A job
takes the first device whose lock it can hold (fcntl.flock, non-blocking) and keeps it
until the process exits; the kernel releases the lock then, also after a kill, so no
lock is ever stale. Under SLURM each job sees only its own GPU (count 1): no lock needed.
"""

import fcntl
import logging
import os
import tempfile
import time
from pathlib import Path

log = logging.getLogger("latedecay.nn.gpu_slots")

# Machine-wide: the GPUs are shared by every workflow on the machine, whatever its folder.
FOLDER = Path(tempfile.gettempdir()) / f"latedecay-gpu-slots-{os.getuid()}"

_held = []  # open lock files of this process: closing one would release its device


def acquire(count, folder=None, wait_s=1.0):
    """Index of a device in 0..count-1 that no other job of this machine holds; waits
    (polling every ``wait_s``) while all are taken. Locks live in ``folder`` (FOLDER)."""
    if count <= 1:
        return 0
    folder = Path(folder or FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        for index in range(count):
            handle = open(folder / f"cuda{index}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held.append(handle)
            return index
        if not waited:
            log.warning("all %d GPUs are held by other jobs (locks in %s); waiting for one", count, folder)
            waited = True
        time.sleep(wait_s)
