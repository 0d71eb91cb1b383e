"""Checks across config keys that a JSON schema cannot express.

Each check raises ``ConfigError`` naming the offending key, so a bad config
stops Snakemake before any job starts.
"""


class ConfigError(ValueError):
    pass


def _require(ok, key, message):
    if not ok:
        raise ConfigError(f"config key '{key}': {message}")


def check_nn(cfg):
    main, sub = cfg["main"], cfg["subpath"]
    seg = main["segment_epochs"]
    for i, epoch in enumerate(sub["decay_epochs"]):
        key = f"subpath.decay_epochs[{i}]"
        _require(epoch <= main["epochs"], key, f"decay epoch {epoch} is beyond main.epochs = {main['epochs']}")
        _require(epoch % seg == 0, key, f"decay epoch {epoch} is not a multiple of main.segment_epochs = {seg}")
    _require(
        cfg["data"]["subset"]["per_class"] * 10 >= cfg["train"]["batch_size"],
        "train.batch_size",
        "larger than the training subset (10 x data.subset.per_class)",
    )


CHECKS = [check_nn]


def check_config(cfg):
    """Run every cross-key check on a schema-validated config."""
    for check in CHECKS:
        check(cfg)
