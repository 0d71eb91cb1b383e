"""A training job's progress line: epoch N of M of the job, its rate and the time left.

Seconds per epoch are this process's wall time, evaluations and checkpoints included,
so the time left is honest (a resumed job's earlier epochs ran elsewhere, at another
speed); img/s counts the training steps alone, over all the job's models, as
bench/train.py does.
"""

import datetime
import logging
import time

log = logging.getLogger("latedecay.nn.progress")


def job_name(runs):
    """The job in its log lines: "main seed 7", or "3 runs: decay10 seed 7 .. decay30 seed 7" for a pack."""
    names = [f"{r.label} seed {r.seed}" for r in runs]
    return names[0] if len(names) == 1 else f"{len(names)} runs: {names[0]} .. {names[-1]}"


class Progress:
    """Progress of a job training epochs ``start``+1 .. ``end``, from epoch ``first`` on
    in this process."""

    def __init__(self, name, start, end, first, clock=time.perf_counter):
        self.name, self.start, self.end, self.first = name, start, end, first
        self.clock, self.began = clock, clock()

    def line(self, epoch, images_per_s):
        per_epoch = (self.clock() - self.began) / (epoch - self.first)
        left = datetime.timedelta(seconds=round(per_epoch * (self.end - epoch)))
        return (
            f"{self.name}: epoch {epoch - self.start} of {self.end - self.start} (run epoch {epoch}), "
            f"{per_epoch:.2f} s/epoch, {images_per_s:.0f} img/s, {left} left"
        )

    def log(self, epoch, images_per_s):
        log.info("%s", self.line(epoch, images_per_s))
