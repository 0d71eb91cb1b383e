"""The settings shared by every training job, in one shape.

``from_config`` is what common.smk passes to the training rules as ``params.train`` (a
key-sorted dict: Snakemake compares params by their repr); ``from_params`` turns it back
into ``TrainSettings`` in the job. The dataclass fields are the one list of these keys;
each field's metadata names the config section it is read from.
"""

from dataclasses import dataclass, field, fields


def _from(section):
    return field(metadata={"section": section})


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
    # last, with a default: settings written before the key existed still load
    deterministic: bool = field(default=True, metadata={"section": "train"})

    @classmethod
    def from_config(cls, config):
        """The rules' ``params.train`` dict, key-sorted."""
        return {f.name: config[f.metadata["section"]][f.name] for f in sorted(fields(cls), key=lambda f: f.name)}

    @classmethod
    def from_params(cls, params):
        return cls(**params)
