"""SIGTERM and SIGUSR1 as a request to stop at the next step boundary.

SLURM sends SIGTERM at a time limit or a preemption (and, with ``sbatch --signal``, a
while before the limit), then SIGKILL after KillWait. A training job that receives one
finishes its current step, writes its resume state and exits non-zero, so that
Snakemake or SLURM retries it and the retry continues from that step.
"""

import contextlib
import signal

SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Interrupted(RuntimeError):
    """The job stopped on a signal after saving its resume state."""


class StopRequest:
    """Callable: whether a stop signal has arrived (``name`` says which, the first one)."""

    def __init__(self):
        self.signum = None

    def __call__(self):
        return self.signum is not None

    @property
    def name(self):
        return signal.Signals(self.signum).name

    def _handle(self, signum, frame):
        self.signum = self.signum or signum


@contextlib.contextmanager
def stop_requests():
    """A StopRequest set by SIGTERM or SIGUSR1 inside; the previous handlers after."""
    request = StopRequest()
    previous = {sig: signal.signal(sig, request._handle) for sig in SIGNALS}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
