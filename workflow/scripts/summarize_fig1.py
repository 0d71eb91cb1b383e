"""Rule fig1_summary: results/fig1_summary.csv (final losses per decay epoch, Spearman correlation)."""

from latedecay.io import script_logging
from latedecay.nn.summary import load_subpaths, summarize, write_summary_csv

with script_logging(snakemake.log[0]) as log:
    subs = load_subpaths(snakemake.input.sub, snakemake.params.decay_epochs)
    rows = summarize(subs, snakemake.params.final_window)
    write_summary_csv(rows, snakemake.output.csv)
    rho = rows[0]["spearman_rho"] if rows else float("nan")
    log.info(
        "wrote %s: %d subpaths, Spearman rho(decay epoch, final test loss) = %.4f",
        snakemake.output.csv,
        len(rows),
        rho,
    )
