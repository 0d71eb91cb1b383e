"""The landscape evaluation's settings in one shape (torch-free: the rules import it).

``LandscapeSettings.from_config`` is what common.smk passes to the chunk and paths rules
as ``params.landscape`` (a key-sorted dict: Snakemake compares params by their repr);
``from_params`` turns it back in the job (latedecay.fields). The grid is not here: the paths job does not
read it, and a new grid must rerun only the chunks (they get it as params of their own).
"""

from dataclasses import dataclass

from .. import fields
from ..fields import from_config as _from


@dataclass(frozen=True)
class EvalSpec:
    """How the grid evaluates; every field but ``loss`` is the landscape key of that name."""

    loss: str = _from("model")
    bn_stats: str = _from("landscape", default="recompute")
    points_per_pass: int | str = _from("landscape", default="auto")
    batch_size: int = _from("landscape", default=1000)  # images per forward pass (per grid point)
    precision: str = _from("landscape", default="float32")
    channels_last: bool = _from("landscape", default=True)


@dataclass(frozen=True)
class ImageSubsets:
    """The seeded random subsets of the train and test images (None = all)."""

    train: int | None = _from("landscape", "train_images")
    test: int | None = _from("landscape", "test_images")
    seed: int = _from("landscape", "image_seed")


@dataclass(frozen=True)
class LandscapeSettings:
    """What the chunk and paths jobs read: the model, the surface, how and on which images
    they evaluate, and where."""

    arch: str = _from("model")
    surface: str = _from("landscape")
    evaluation: EvalSpec
    images: ImageSubsets
    device: str = _from("train")
    threads: int | None = _from("train")

    @classmethod
    def from_config(cls, config):
        """The rules' ``params.landscape`` dict, key-sorted."""
        return fields.params(cls, config)

    @classmethod
    def from_params(cls, params):
        return fields.build(cls, params)
