"""Epoch 0 of the main path: the seeded initial model, evaluated and snapshotted."""

from latedecay.io import script_logging
from latedecay.nn import job

with script_logging(snakemake.log[0]):
    p = snakemake.params
    device = job.setup(p.train["device"], p.train["threads"] or snakemake.threads)
    spec = job.spec_from_params(p.train, "main", lr=0.0)  # each segment sets its own lr
    data = {"train": snakemake.input.train, "eval": snakemake.input.eval}
    job.init_main(data, p.train["arch"], spec, dict(snakemake.output), device)
