"""The learning rate of a run, epoch by epoch: the one place a schedule is defined.

The paper's rates are constant (the main path at main.lr, each subpath at subpath.lr from
its decay on): ``Schedule(lr)``. ``ramp_epochs`` > 0 turns the subpath's step decay into a
linear one: over its first ``ramp_epochs`` epochs the rate falls from ``ramp_from`` (main.lr)
to ``lr``. Torch-free: the rules build the params from it.
"""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Schedule:
    lr: float
    ramp_epochs: int = 0
    ramp_from: float | None = None

    def __post_init__(self):
        if self.ramp_epochs and self.ramp_from is None:
            raise ValueError("a ramp needs the rate it starts from (ramp_from)")

    def lr_at(self, epoch):
        """The rate of the run's epoch ``epoch`` (1-based, counted from the run's start: the
        decay for a subpath). Epoch ``ramp_epochs`` is the first at ``lr``."""
        if epoch >= self.ramp_epochs:
            return self.lr
        return self.ramp_from + (self.lr - self.ramp_from) * epoch / self.ramp_epochs

    @classmethod
    def from_config(cls, config, kind):
        """The rules' ``params.schedule`` of the main path (``kind`` "main") or the subpaths, key-sorted."""
        if kind == "main":
            schedule = cls(config["main"]["lr"])
        else:
            sub, ramp = config["subpath"], config["subpath"]["ramp_epochs"]
            schedule = cls(sub["lr"], ramp, config["main"]["lr"] if ramp else None)
        return dict(sorted(asdict(schedule).items()))

    @classmethod
    def from_params(cls, params):
        return cls(**params)
