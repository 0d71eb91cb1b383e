"""Rule fig2: figures/fig2.pdf from the merged grid, the projected trajectories and the
paths table."""

import pandas as pd

from latedecay.io import load_npz, script_logging
from latedecay.landscape import figure_data
from latedecay.plots import fig2, style

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    inputs = snakemake.input
    data = figure_data.fig2(load_npz(inputs.grid), load_npz(inputs.projection), pd.read_csv(inputs.paths))
    fig = fig2.make_figure(
        data,
        loss=p.loss,
        levels=p.levels,
        color_scale=p.color_scale,
        color_quantile=p.color_quantile,
        quantile_power=p.quantile_power,
    )
    style.save(fig, snakemake.output.pdf)
    log.info("wrote %s", snakemake.output.pdf)
