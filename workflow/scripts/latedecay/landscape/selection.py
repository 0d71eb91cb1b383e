"""Which snapshot epochs enter the landscape PCA: from the files (snapshots.load_trajectories)
or planned from the config (config.checks). Pure Python, so planning imports no torch."""


def keep_indices(n, stride, forced=()):
    """Indices of every ``stride``-th row from the first, the last row and ``forced`` rows."""
    keep = set(range(0, n, stride)) | set(forced)
    if n:
        keep.add(n - 1)
    return sorted(keep)


def select(main_epochs, sub_epochs, stride=1, main_start=0):
    """[(decay epoch or None, [epochs kept])] for the main path, then each subpath by decay epoch.

    ``main_epochs``: the main path's sorted snapshot epochs; ``sub_epochs``: {decay epoch:
    sorted global epochs after the decay}. The main path is cut to epochs >= ``main_start``
    (its branch points always kept), and every path is thinned to each ``stride``-th
    snapshot plus its last one.
    """
    main = [e for e in main_epochs if e >= main_start]
    subs = sorted(sub_epochs.items())
    branch = [main.index(d) for d, _ in subs if d in main]
    chosen = [(None, [main[i] for i in keep_indices(len(main), stride, branch)])]
    return chosen + [(d, [epochs[i] for i in keep_indices(len(epochs), stride)]) for d, epochs in subs]


def planned_epochs(main_epochs, sub_epochs, snapshot_every, decays):
    """(main-path epochs, {decay: global epochs}) of the snapshots the training jobs write.

    Mirrors the training code: init_main snapshots epoch 0, and engine.run snapshots every
    epoch that is a multiple of ``snapshot_every`` (main path: global epochs; subpath: epochs
    counted after its decay, of which load_trajectories keeps those > 0).
    """
    every = range(snapshot_every, main_epochs + 1, snapshot_every)
    after = range(snapshot_every, sub_epochs + 1, snapshot_every)
    return [0, *every], {d: [d + e for e in after] for d in decays}


def planned_count(main_epochs, sub_epochs, snapshot_every, decays, stride=1, main_start=0):
    """Number of snapshots the landscape PCA will get under these settings."""
    main, subs = planned_epochs(main_epochs, sub_epochs, snapshot_every, decays)
    return sum(len(kept) for _, kept in select(main, subs, stride, main_start))
