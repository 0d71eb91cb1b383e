"""Rule fig1: figures/fig1.pdf from the metrics (curves, heat maps) and the two result files
of fig1_summary (the table and the verdict it draws; nothing is recomputed here)."""

from latedecay.fig1_runs import load_runs
from latedecay.fig1_table import read_table
from latedecay.io import load_json, script_logging
from latedecay.plots import style
from latedecay.plots.fig1 import Settings, make_figure

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    settings = Settings.from_params(p.options, p.labels)
    runs = load_runs([*snakemake.input.main, *snakemake.input.sub], p.seeds, p.decay_epochs)
    log.info("%d seeds, %d subpaths each", len(runs.seeds), len(runs.decay_epochs))
    table, verdict = read_table(snakemake.input.csv), load_json(snakemake.input.verdict)
    style.save(make_figure(runs, table, verdict, settings), snakemake.output.pdf)
    log.info("wrote %s; verdict: %s", snakemake.output.pdf, verdict["verdict"])
