"""Rule landscape_chunk: losses and accuracies at one chunk of the landscape grid."""

from latedecay.io import script_logging
from latedecay.landscape.jobs import run_chunk

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    run_chunk(
        inputs=snakemake.input,
        out=snakemake.output.chunk,
        arch=p.arch,
        loss=p.loss,
        surface=p.surface,
        grid=p.grid,
        chunks=p.chunks,
        chunk=int(snakemake.wildcards.chunk),
        evaluation=p.evaluation,
        images=p.images,
        device=p.device,
        threads=p.threads or snakemake.threads,
    )
