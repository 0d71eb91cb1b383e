"""Fig. 3: training and testing landscapes of the three toy models."""

import matplotlib.pyplot as plt

from latedecay.io import save_figure, script_logging
from latedecay.toy import figures

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    fig = figures.fig3(p.w_star, p.x, p.gamma, p.limit, p.grid)
    save_figure(fig, snakemake.output.pdf)
    plt.close(fig)
    log.info("wrote %s", snakemake.output.pdf)
