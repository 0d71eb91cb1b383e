"""Theory checks of the toy models: figures/toy_theory.pdf + results/toy/summary.csv."""

from pathlib import Path

import matplotlib.pyplot as plt

from latedecay.io import load_npz, save_figure, script_logging
from latedecay.toy import summary

with script_logging(snakemake.log[0]) as log:
    data = {Path(p).stem: load_npz(p) for p in snakemake.input.sims}
    p = snakemake.params
    fig, table = summary.theory_outputs(data, p.phase1_factor, p.phase2_tol, p.mixing_floor)
    save_figure(fig, snakemake.output.pdf)
    plt.close(fig)
    summary.save_csv(table, snakemake.output.csv)
    log.info("wrote %d summary rows", len(table))
