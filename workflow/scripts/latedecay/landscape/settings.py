"""The landscape evaluation's settings in one shape (torch-free: the rules import it)."""

from dataclasses import dataclass, fields


@dataclass
class EvalSpec:
    """How the grid evaluates; every field but ``loss`` is the landscape key of that name."""

    loss: str  # model.loss
    bn_stats: str = "recompute"
    points_per_pass: int | str = "auto"
    batch_size: int = 1000  # images per forward pass (per grid point)
    precision: str = "float32"
    channels_last: bool = True

    @classmethod
    def params_from_config(cls, landscape):
        """The landscape rules' ``params.evaluation``: these fields from config["landscape"], key-sorted."""
        return {f.name: landscape[f.name] for f in sorted(fields(cls), key=lambda f: f.name) if f.name != "loss"}
