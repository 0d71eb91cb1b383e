"""Rule landscape_paths: every PCA snapshot's distance from the surface, and its true loss
beside the surface's loss at its (PC1, PC2) coordinates."""

from latedecay.io import script_logging
from latedecay.landscape.jobs import run_paths

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    run_paths(
        inputs=snakemake.input,
        out=snakemake.output.paths,
        arch=p.arch,
        loss=p.loss,
        surface=p.surface,
        evaluation=p.evaluation,
        images=p.images,
        device=p.device,
        threads=p.threads or snakemake.threads,
    )
