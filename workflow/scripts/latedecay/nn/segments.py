"""How a main path is cut into jobs, and where the subpaths branch from it.

A main path of ``epochs`` epochs runs as segments of ``segment_epochs`` (one job each;
the last may be shorter). A segment keeps the states at its *branch epochs*
(branches.pt): the multiples of ``branch_every`` in it, and its end. A decay epoch must
be a multiple of ``branch_every`` or the path's last epoch; its subpath starts from the
branches.pt of the segment holding it. What a segment keeps depends only on where it
starts and ends, so raising ``epochs`` leaves the existing segments as they are. So segments may be long (few job start-ups, on a
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


def segment_start(main, end):
    """Where the segment ending at ``end`` starts: the previous segment end."""
    ends = segment_ends(main)
    if end not in ends[1:]:
        raise ValueError(f"main-path epoch {end} is not a segment end ({ends[:3]}...)")
    return ends[ends.index(end) - 1]


def is_branch_epoch(main, epoch):
    """Whether a subpath may branch at ``epoch`` (the config check on decay epochs)."""
    return epoch % branch_every(main) == 0 or epoch == main["epochs"]


def branch_epochs(main, end):
    """Epochs the segment ending at ``end`` keeps: the multiples of branch_every in
    (previous end, end], and end; [0] for init."""
    start = segment_start(main, end) if end else -1
    return [e for e in range(start + 1, end + 1) if e % branch_every(main) == 0 or e == end]


def segment_holding(main, epoch):
    """The end of the segment that holds ``epoch`` (the first segment end >= epoch)."""
    return next(end for end in segment_ends(main) if end >= epoch)


# Parameters of each model.arch (tests check them against nn.models), for sizing jobs
# without importing torch at DAG time.
PARAMETERS = {"vgg_small": 1_250_634, "vgg11_bn": 9_231_114}


def main_job_mb(main, train, arch):
    """Host memory a main-path job needs: a base, plus its snapshots (kept, then stacked:
    twice) and its branch states (weights and momentum), float32."""
    epochs = main["segment_epochs"]
    snapshots = epochs // train["snapshot_every"] + 1
    branches = epochs // branch_every(main) + 1
    return 6000 + round(PARAMETERS[arch] * 4 / 1e6 * (2 * snapshots + 2 * branches))
