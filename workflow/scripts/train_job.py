"""One main-path segment (params.decay is None) or one subpath (branching at params.decay)."""

from latedecay.io import script_logging
from latedecay.nn import job

with script_logging(snakemake.log[0]):
    p = snakemake.params
    device = job.setup(p.train["device"], p.train["threads"] or snakemake.threads)
    decay = None if p.decay is None else int(p.decay)
    path = "main" if decay is None else f"decay{decay}"
    spec = job.spec_from_params(p.train, path, p.lr)
    data = {"train": snakemake.input.train, "eval": snakemake.input.eval}
    key = dict(train=p.train, lr=p.lr, decay=decay, end=p.end_epoch, reset=p.reset_momentum)
    job.train_job(
        data, p.train["arch"], spec, snakemake.input.start, int(p.end_epoch), dict(snakemake.output), device,
        resume_file=p.resume_file, key_params=key, decay_epoch=decay, reset_momentum=p.reset_momentum,
    )  # fmt: skip
