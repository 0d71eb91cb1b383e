"""Rule landscape_pca: PCA of the main-path and subpath snapshots (Fig. 2)."""

from latedecay.io import script_logging
from latedecay.landscape.jobs import run_pca

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    run_pca(
        main_files=snakemake.input.main,
        sub_files=snakemake.input.sub,
        out_pca=snakemake.output.pca,
        out_projection=snakemake.output.projection,
        components=p.components,
        stride=p.snapshot_stride,
        main_start=p.main_start,
    )
