"""Per-experiment settings: shared ``toy.sgd`` defaults merged with
``toy.experiments.<name>`` overrides, pruned to the keys the run reads.

Pruning is what makes reruns exact: a rule's params hold only the keys its
simulation uses, so editing e.g. ``toy.sgd.sde_substeps`` reruns the SDE
experiments and nothing else.
"""

EXPERIMENTS = (
    "linear_label_noise",
    "linear_minibatch",
    "linear_sde",
    "linear_late_decay",
    "drift",
    "late_decay",
    "minibatch",
    "n1",
    "fig4",
)


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
