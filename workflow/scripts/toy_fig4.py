"""Fig. 4: Phase I and Phase II on a simulated trajectory (d = 2)."""

import matplotlib.pyplot as plt

from latedecay.io import load_npz, save_figure, script_logging
from latedecay.toy import figures

with script_logging(snakemake.log[0]) as log:
    fig = figures.fig4(load_npz(snakemake.input.sim), snakemake.params.phase1_factor)
    save_figure(fig, snakemake.output.pdf)
    plt.close(fig)
    log.info("wrote %s", snakemake.output.pdf)
