"""Rule landscape_paths: every PCA snapshot's distance from the surface, and its true loss
beside the surface's loss at its (PC1, PC2) coordinates."""

from latedecay.io import script_logging
from latedecay.landscape.jobs import run_paths, start

with script_logging(snakemake.log[0]):
    settings, device = start(snakemake.params.landscape, snakemake.threads)
    run_paths(snakemake.input, snakemake.output.paths, settings, device)
