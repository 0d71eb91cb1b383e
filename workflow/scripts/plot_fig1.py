"""Rule fig1: figures/fig1.pdf from the metrics (curves, heat maps) and the two result files
of fig1_summary (the table and the verdict it draws; nothing is recomputed here)."""

from latedecay.fig1_panels import Settings, figure_data
from latedecay.fig1_runs import load_runs
from latedecay.fig1_table import read_table
from latedecay.io import load_json, script_logging
from latedecay.plots import fig1, style

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    runs = load_runs([*snakemake.input.main, *snakemake.input.sub], p.seeds, p.decay_epochs)
    log.info("%d seeds, %d subpaths each", len(runs.seeds), len(runs.decay_epochs))
    table, verdict = read_table(snakemake.input.csv), load_json(snakemake.input.verdict)
    data = figure_data(runs, table, verdict, Settings.from_params(p.options, p.labels))
    style.save(fig1.make_figure(data), snakemake.output.pdf)
    log.info("wrote %s; verdict: %s", snakemake.output.pdf, verdict["verdict"])
