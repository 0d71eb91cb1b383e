"""Checks across config keys that a JSON schema cannot express.

Each check raises ``ConfigError`` naming the offending key, so a bad config
stops Snakemake before any job starts.
"""

from ..landscape.selection import planned_count
from ..nn import segments
from ..toy import settings
from .errors import require


def check_nn(cfg):
    main, sub = cfg["main"], cfg["subpath"]
    every = "main.branch_every" if main["branch_every"] else "main.segment_epochs"
    for i, epoch in enumerate(sub["decay_epochs"]):
        key = f"subpath.decay_epochs[{i}]"
        require(epoch <= main["epochs"], key, f"decay epoch {epoch} is beyond main.epochs = {main['epochs']}")
        require(
            segments.is_branch_epoch(main, epoch),
            key,
            f"decay epoch {epoch} is not a main-path branch epoch (a multiple of {every} = "
            f"{segments.branch_every(main)}, or main.epochs)",
        )
    require(
        sub["ramp_epochs"] <= sub["epochs"],
        "subpath.ramp_epochs",
        f"a ramp of {sub['ramp_epochs']} epochs would not reach subpath.lr within subpath.epochs = {sub['epochs']}",
    )
    require(
        cfg["data"]["subset"]["per_class"] * 10 >= cfg["train"]["batch_size"],
        "train.batch_size",
        "larger than the training subset (10 x data.subset.per_class)",
    )


def _toy_key(toy, name, key):
    """Config key a merged toy setting came from (the override or toy.sgd)."""
    return f"toy.experiments.{name}.{key}" if key in (toy["experiments"][name] or {}) else f"toy.sgd.{key}"


def _check_toy_experiment(toy, name):
    s = settings.merged(toy, name)
    key = lambda k: _toy_key(toy, name, k)  # noqa: E731
    n, d = settings.dims(s)
    if s["inputs"] is not None:
        require(all(len(row) == d for row in s["inputs"]), key("inputs"), "rows of different lengths")
    for k in ("teacher", "init"):
        if s[k] is not None:
            require(len(s[k]) == d, key(k), f"has {len(s[k])} entries, the model has d = {d}")
    require(s["init"] is None or s["starts"] == 1, key("starts"), "an explicit init needs starts = 1")
    for i, t1 in enumerate(s["decay_steps"]):
        require(
            t1 <= s["steps"],
            f"{key('decay_steps')}[{i}]",
            f"decay step {t1} is beyond the run ({key('steps')} = {s['steps']})",
        )
        if s["steps_after_decay"] is not None:
            require(
                t1 + s["steps_after_decay"] <= s["steps"],
                key("steps_after_decay"),
                f"decay step {t1} + {s['steps_after_decay']} is beyond the run ({key('steps')} = {s['steps']})",
            )
    if s["batch"] is not None:
        require(s["batch"] <= n, key("batch"), f"batch {s['batch']} exceeds the n = {n} samples")
    if s["simulator"] == "minibatch":
        require(s["batch"] is not None and s["batch"] < n, key("batch"), "plain mini-batch SGD needs batch < n")
    if s["simulator"] == "sde":
        require(
            s["batch"] in (None, n), key("batch"), "the sde simulator models full-batch label noise (batch null or n)"
        )
    for k, v in settings.ROLES.get(name, {}).items():
        require(s[k] == v, key(k), f"experiment {name} needs {k} = {v}")
    if name != settings.DRIFT:
        require(len(s["lr"]) == 1, key("lr"), f"only the {settings.DRIFT} experiment sweeps learning rates; give one")
    if name in settings.LINEAR_MIXING:
        require(s["starts"] >= 2, key("starts"), "the mixing check needs two coupled starts")
    if name in settings.LATE_DECAY_CHECKS:
        require(bool(s["decay_steps"]), key("decay_steps"), "the late-decay check needs decay steps")
        require(s["steps_after_decay"] is not None, key("steps_after_decay"), "the late-decay check needs a fixed T2")
    if name == settings.FIG4:
        require(d == 2, key("inputs"), "Fig. 4 is drawn in d = 2")
        require(s["gradient_flow_steps"] > 0, key("gradient_flow_steps"), "Fig. 4 draws the gradient-flow path")
    if s["record_w"]:
        runs = s["starts"] * s["chains"] * len(s["lr"]) * max(1, len(s["decay_steps"]))
        size = (s["steps"] // s["record_every"] + 2) * runs * d
        require(size <= 5e7, key("record_w"), f"recording w would store {size:.3g} numbers; raise record_every")


def check_toy(cfg):
    toy = cfg["toy"]
    for name in toy["experiments"]:
        _check_toy_experiment(toy, name)


def check_landscape(cfg):
    land = cfg["landscape"]
    seeds = cfg["replicates"]["seeds"]
    require(land.get("seed") is None or land["seed"] in seeds, "landscape.seed", f"not one of replicates.seeds {seeds}")
    if land["subpaths"] != "all":
        for i, decay in enumerate(land["subpaths"]):
            require(
                decay in cfg["subpath"]["decay_epochs"],
                f"landscape.subpaths[{i}]",
                f"{decay} is not one of subpath.decay_epochs",
            )
    require(land.get("main_start", 0) <= cfg["main"]["epochs"], "landscape.main_start", "beyond main.epochs")
    require(
        land["surface"] == "flat" or land["components"] >= 3,
        "landscape.components",
        "the curved surface needs at least 3 components (PC3)",
    )
    grid = land["grid"]
    for axis in ("pc1", "pc2"):
        require(
            grid["extent"] == "auto" or grid[axis]["min"] < grid[axis]["max"],
            f"landscape.grid.{axis}.max",
            "must exceed min",
        )
    points = grid["pc1"]["points"] * grid["pc2"]["points"]
    require(land["chunks"] <= points, "landscape.chunks", f"more chunks than the {points} grid points")
    _check_snapshot_count(cfg)


def _check_snapshot_count(cfg):
    """The PCA of n snapshots has at most n - 1 components: it must get more than it computes."""
    land, every = cfg["landscape"], cfg["train"]["snapshot_every"]
    decays = cfg["subpath"]["decay_epochs"] if land["subpaths"] == "all" else land["subpaths"]
    n = planned_count(
        cfg["main"]["epochs"],
        cfg["subpath"]["epochs"],
        every,
        decays,
        land.get("snapshot_stride", 1),
        land.get("main_start", 0),
    )
    k = land["components"]
    require(
        n > k,
        "landscape.components",
        f"{k} components need more than {k} snapshots, but the landscape gets {n} (from main.epochs, "
        f"subpath.epochs, train.snapshot_every = {every}, landscape.subpaths, landscape.main_start and "
        "landscape.snapshot_stride); lower train.snapshot_every or landscape.snapshot_stride, add "
        "landscape.subpaths, or lower landscape.components",
    )


CHECKS = [check_nn, check_toy, check_landscape]


def check_config(cfg):
    """Run every cross-key check on a schema-validated config."""
    for check in CHECKS:
        check(cfg)
