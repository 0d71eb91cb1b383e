"""Per-experiment settings: shared ``toy.sgd`` defaults merged with
``toy.experiments.<name>`` overrides, pruned to the keys the run reads.

Pruning is what makes reruns exact: a rule's params hold only the keys its
simulation uses, so editing e.g. ``toy.sgd.sde_substeps`` reruns the SDE
experiments and nothing else.
"""

# The toy experiments, once. Each name is a key of ``toy.experiments`` (the config
# schema lists the same names; tests check they agree), an output
# results/toy/sim/<name>.npz, and the ``experiment`` column of the summary table.
LINEAR_LABEL_NOISE = "linear_label_noise"
LINEAR_MINIBATCH = "linear_minibatch"
LINEAR_SDE = "linear_sde"
LINEAR_LATE_DECAY = "linear_late_decay"
DRIFT = "drift"  # the only learning-rate sweep
LATE_DECAY = "late_decay"
MINIBATCH = "minibatch"
N1 = "n1"
FIG4 = "fig4"  # Fig. 4's recorded path; not read by the theory checks

# Experiment -> the settings its role fixes (config.checks requires exactly these).
ROLES = {
    LINEAR_LABEL_NOISE: {"model": "linear", "simulator": "label_noise"},
    LINEAR_MINIBATCH: {"model": "linear", "simulator": "minibatch"},
    LINEAR_SDE: {"model": "linear", "simulator": "sde"},
    LINEAR_LATE_DECAY: {"model": "linear"},
    DRIFT: {},
    LATE_DECAY: {},
    MINIBATCH: {"simulator": "minibatch"},
    N1: {"model": "reparam"},
    FIG4: {"model": "reparam", "record_w": True},
}  # its keys: every toy experiment, in config order

# Named groups.
LINEAR_MIXING = (LINEAR_LABEL_NOISE, LINEAR_MINIBATCH, LINEAR_SDE)  # check 1: two coupled starts each
LATE_DECAY_CHECKS = (LINEAR_LATE_DECAY, LATE_DECAY)  # final test loss against T1: decay steps and a fixed T2
CONTRASTS = (MINIBATCH, N1)  # check 4
THEORY_INPUTS = (*LINEAR_MIXING, LINEAR_LATE_DECAY, DRIFT, LATE_DECAY, *CONTRASTS)  # read by the theory checks


def merged(toy_cfg, name):
    """Shared SGD defaults with the experiment's overrides on top (unpruned)."""
    if name not in toy_cfg["experiments"]:
        raise KeyError(f"toy.experiments has no experiment {name!r}")
    s = dict(toy_cfg["sgd"])
    s.update(toy_cfg["experiments"][name] or {})
    s["gamma"] = toy_cfg["gamma"]
    return s


def _unused(s):
    """Keys of a merged settings dict that cannot change this run's output."""
    drop = set()
    if s["model"] != "reparam":
        drop.add("gamma")
    if s["simulator"] == "minibatch":
        drop.add("sigma")
    if s["simulator"] == "sde":
        drop.add("batch")
    else:
        drop.add("sde_substeps")
    if not s["decay_steps"]:
        drop |= {"decay_factor", "steps_after_decay"}
    if s.get("teacher") is not None:
        drop.add("teacher_norm")
    if s.get("init") is not None:
        drop.add("init_norm")
    if not s.get("gradient_flow_steps"):
        drop |= {"gradient_flow_steps", "gradient_flow_lr"}
    if s.get("inputs") is not None:
        drop |= {"d", "n"}
    return drop


def effective(toy_cfg, name):
    """Merged settings of one experiment, without unused keys, sorted by key."""
    s = merged(toy_cfg, name)
    drop = _unused(s)
    return {k: s[k] for k in sorted(s) if k not in drop}


def dims(s):
    """(n, d) of an experiment, read from explicit inputs when given."""
    if s.get("inputs") is not None:
        return len(s["inputs"]), len(s["inputs"][0])
    return s["n"], s["d"]
