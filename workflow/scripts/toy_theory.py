"""Theory checks of the toy models: figures/toy_theory.pdf + results/toy/summary.csv."""

from pathlib import Path

from latedecay.io import load_npz, script_logging
from latedecay.plots import style, toy
from latedecay.toy import figure_data, summary

with script_logging(snakemake.log[0]) as log:
    data = {Path(p).stem: load_npz(p) for p in snakemake.input.sims}
    p = snakemake.params
    # The table first: it names any missing simulation.
    table = summary.summary_rows(data, p.phase1_factor, p.phase2_tol, p.mixing_floor)
    panels = figure_data.theory(data, p.phase1_factor, p.phase2_tol, p.mixing_floor)
    style.save(toy.theory(panels), snakemake.output.pdf)
    summary.save_csv(table, snakemake.output.csv)
    log.info("wrote %d summary rows", len(table))
