"""Rule landscape_merge: one grid file, the paths table and the landscape summary."""

from latedecay.io import script_logging
from latedecay.landscape.merge import run_merge

with script_logging(snakemake.log[0]) as log:
    run_merge(
        chunk_files=list(snakemake.input.chunks),
        projection_file=snakemake.input.projection,
        paths_file=snakemake.input.paths,
        out_grid=snakemake.output.grid,
        out_paths=snakemake.output.paths,
        out_summary=snakemake.output.summary,
    )
