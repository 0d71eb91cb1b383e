"""Rule landscape_pca: PCA of the main-path and subpath snapshots (Fig. 2)."""

from latedecay.io import script_logging
from latedecay.landscape.jobs import run_pca

with script_logging(snakemake.log[0]):
    p = snakemake.params
    run_pca(snakemake.input, snakemake.output, p.components, p.snapshot_stride, p.main_start)
