"""Rule fig2: figures/fig2.pdf from the merged grid, the projected trajectories and the
paths table."""

import pandas as pd

from latedecay.io import load_npz, script_logging
from latedecay.plots import style
from latedecay.plots.fig2 import make_figure

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    grid = load_npz(snakemake.input.grid)
    projection = load_npz(snakemake.input.projection)
    paths = pd.read_csv(snakemake.input.paths)
    fig = make_figure(
        grid,
        projection,
        paths,
        color_scale=p.color_scale,
        levels=p.levels,
        loss=p.loss,
        color_quantile=p.color_quantile,
        quantile_power=p.quantile_power,
    )
    style.save(fig, snakemake.output.pdf)
    log.info("wrote %s", snakemake.output.pdf)
