"""Fig. 4: Phase I and Phase II on a simulated trajectory (d = 2)."""

from latedecay.io import load_npz, script_logging
from latedecay.plots import style, toy
from latedecay.toy import figure_data

with script_logging(snakemake.log[0]) as log:
    path = figure_data.fig4(load_npz(snakemake.input.sim), snakemake.params.phase1_factor)
    style.save(toy.fig4(path), snakemake.output.pdf)
    log.info("wrote %s", snakemake.output.pdf)
