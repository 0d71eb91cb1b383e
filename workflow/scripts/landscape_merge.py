"""Rule landscape_merge: one grid file and the landscape summary from the chunks."""

from latedecay.io import script_logging
from latedecay.landscape.merge import run_merge

with script_logging(snakemake.log[0]) as log:
    run_merge(
        chunk_files=list(snakemake.input.chunks),
        projection_file=snakemake.input.projection,
        out_grid=snakemake.output.grid,
        out_summary=snakemake.output.summary,
    )
