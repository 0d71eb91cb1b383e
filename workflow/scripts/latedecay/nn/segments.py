"""How a main path is cut into jobs, and where the subpaths branch from it.

A main path of ``epochs`` epochs runs as segments of ``segment_epochs`` (one job each;
the last may be shorter). A segment keeps, beside its end checkpoint, the states at its
*branch epochs* (branches.pt): the multiples of ``branch_every`` in it, and the path's
last epoch. A decay epoch must be a branch epoch; its subpath starts from the
branches.pt of the segment holding it. So segments may be long (few job start-ups, on a
GPU) while the subpaths still branch every ``branch_every`` epochs, and the decay epochs
never shape the main-path jobs: adding one adds only its subpath jobs.
"""


def branch_every(main):
    """main.branch_every; null means main.segment_epochs (the segment ends)."""
    return main["branch_every"] or main["segment_epochs"]


def segment_ends(main):
    """Epochs at which segments end, 0 (the initial checkpoint, init_main) first."""
    seg, total = main["segment_epochs"], main["epochs"]
    ends = list(range(0, total + 1, seg))
    return ends if ends[-1] == total else ends + [total]


def is_branch_epoch(main, epoch):
    return epoch % branch_every(main) == 0 or epoch == main["epochs"]


def branch_epochs(main, end):
    """Branch epochs of the segment ending at ``end``: (previous end, end], or [0] for init."""
    ends = segment_ends(main)
    start = ends[ends.index(end) - 1] if end else -1
    return [e for e in range(start + 1, end + 1) if is_branch_epoch(main, e)]


def segment_holding(main, epoch):
    """The end of the segment that holds ``epoch`` (the first segment end >= epoch)."""
    return next(end for end in segment_ends(main) if end >= epoch)
