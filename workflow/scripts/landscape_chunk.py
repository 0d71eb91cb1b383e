"""Rule landscape_chunk: losses and accuracies at one chunk of the landscape grid."""

from latedecay.io import script_logging
from latedecay.landscape.jobs import run_chunk, start

with script_logging(snakemake.log[0]):
    p, chunk = snakemake.params, int(snakemake.wildcards.chunk)
    settings, device = start(p.landscape, snakemake.threads)
    run_chunk(snakemake.input, snakemake.output.chunk, settings, device, p.grid, p.chunks, chunk)
