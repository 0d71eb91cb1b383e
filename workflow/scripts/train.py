"""Rules train_main and train_subpath*: one main-path segment, or a pack of K >= 1 subpaths."""

from latedecay.io import script_logging
from latedecay.nn import job
from latedecay.nn.device import for_training
from latedecay.nn.settings import TrainSettings

with script_logging(snakemake.log[0]):
    p = snakemake.params
    settings = TrainSettings.from_params(p.train)
    device = for_training(settings, snakemake.threads)
    out = {name: job.paths(snakemake.output[name]) for name in snakemake.output.keys()}  # per run
    job.train_job(
        {"train": snakemake.input.train, "eval": snakemake.input.eval},
        settings,
        job.Plan.from_params(p, snakemake.input.start),
        [dict(zip(out, files)) for files in zip(*out.values(), strict=True)],
        device,
        key_params=dict(p.items()),
    )
