"""Rules train_main and train_subpath*: one main-path segment, or a pack of K >= 1 subpaths."""

from latedecay.io import script_logging
from latedecay.nn import job
from latedecay.nn.device import setup
from latedecay.nn.settings import TrainSettings
from latedecay.nn.trainer import Run

with script_logging(snakemake.log[0]):
    p = snakemake.params
    settings = TrainSettings.from_params(p.train)
    device = setup(settings.device, settings.threads or snakemake.threads, settings.precision, settings.compile_cache,
                   settings.deterministic)
    out = {name: job.paths(snakemake.output[name]) for name in snakemake.output.keys()}  # per run
    job.train_job(
        {"train": snakemake.input.train, "eval": snakemake.input.eval},
        settings,
        [Run(int(seed), label) for seed, label in p.runs],
        p.lr,
        job.paths(snakemake.input.start),
        int(p.end_epoch),
        [dict(zip(out, files)) for files in zip(*out.values(), strict=True)],
        device,
        resume_file=p.resume_file,
        key_params=dict(p.items()),
        reset_momentum=p.reset_momentum,
        branch_epochs=p.branch_epochs,
    )
