"""Rule fig1: figures/fig1.pdf from the main-path and subpath metrics of every seed."""

from latedecay.io import script_logging
from latedecay.plots import style
from latedecay.plots.fig1 import make_figure
from latedecay.plots.fig1_summary import Settings, analyze, load_runs

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    settings = Settings.from_params(p.options, p.labels)
    runs = load_runs(snakemake.input.main, snakemake.input.sub, p.seeds, p.decay_epochs)
    log.info("%d seeds, %d subpaths each", len(runs.seeds), len(runs.decay_epochs))
    table, verdict = analyze(runs, settings)
    style.save(make_figure(runs, table, verdict, settings), snakemake.output.pdf)
    log.info("wrote %s; verdict: %s", snakemake.output.pdf, verdict["verdict"])
