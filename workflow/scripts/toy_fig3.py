"""Fig. 3: training and testing landscapes of the three toy models."""

from latedecay.io import script_logging
from latedecay.plots import style, toy
from latedecay.toy import figure_data

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    surfaces = figure_data.fig3(p.w_star, p.x, p.gamma, p.limit, p.grid)
    style.save(toy.fig3(surfaces), snakemake.output.pdf)
    log.info("wrote %s", snakemake.output.pdf)
