"""Several subpaths (params.decays) trained in one process (subpath.pack > 1, for GPUs)."""

from latedecay.io import script_logging
from latedecay.nn import job

with script_logging(snakemake.log[0]):
    p = snakemake.params
    device = job.setup(p.train["device"], p.train["threads"] or snakemake.threads)
    decays = [int(d) for d in p.decays]
    specs = [job.spec_from_params(p.train, f"decay{d}", p.lr) for d in decays]
    data = {"train": snakemake.input.train, "eval": snakemake.input.eval}
    outs = [
        {name: snakemake.output[name][k] for name in ("checkpoint", "metrics", "snapshots")}
        for k in range(len(decays))
    ]
    job.train_pack_job(
        data, p.train["arch"], specs, list(snakemake.input.start), int(p.end_epoch), outs, device,
        resume_file=p.resume_file, key_params=dict(train=p.train, lr=p.lr, decays=decays, end=p.end_epoch,
                                                   reset=p.reset_momentum),
        decays=decays, reset_momentum=p.reset_momentum,
    )  # fmt: skip
