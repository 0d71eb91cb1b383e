"""The settings shared by every training job, in one shape.

``from_config`` is what common.smk passes to the training rules as ``params.train`` (a
key-sorted dict: Snakemake compares params by their repr); ``from_params`` turns it back
into ``TrainSettings`` in the job (latedecay.fields). The dataclass fields are the one
list of these keys.
"""

from dataclasses import dataclass

from .. import fields
from ..fields import from_config as _from


@dataclass(frozen=True)
class TrainSettings:
    arch: str = _from("model")
    loss: str = _from("model")
    eval_augment: bool = _from("data")
    batch_size: int = _from("train")
    momentum: float = _from("train")
    weight_decay: float = _from("train")
    eval_every: int = _from("train")
    snapshot_every: int = _from("train")
    resume_every: int = _from("train")
    device: str = _from("train")
    threads: int | None = _from("train")
    compile: str = _from("train")
    precision: str = _from("train")
    compile_cache: str = _from("train")
    deterministic: bool = _from("train")

    @classmethod
    def from_config(cls, config):
        """The rules' ``params.train`` dict, key-sorted."""
        return fields.params(cls, config)

    @classmethod
    def from_params(cls, params):
        return fields.build(cls, params)
