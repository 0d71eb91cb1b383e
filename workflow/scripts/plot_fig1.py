"""Rule fig1: figures/fig1.pdf from the main-path and subpath metrics."""

from latedecay.io import script_logging
from latedecay.nn.summary import load_main_path, load_subpaths
from latedecay.plots import style
from latedecay.plots.fig1 import make_figure

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    main = load_main_path(snakemake.input.main)
    subs = load_subpaths(snakemake.input.sub, p.decay_epochs)
    log.info(
        "main path: %d epochs, %d evaluations; %d subpaths",
        len(main["epochs"]),
        len(main["eval"]["epoch"]),
        len(subs),
    )
    fig = make_figure(
        main,
        subs,
        main_lr=p.main_lr,
        sub_lr=p.sub_lr,
        arch=p.arch,
        loss=p.loss,
        eval_set=p.eval_set,
        eval_limit=p.eval_limit,
        log_color=p.log_color,
        smooth_epochs=p.smooth_epochs,
        heatmap_train=p.heatmap_train,
        final_window=p.final_window,
    )
    style.save(fig, snakemake.output.pdf)
    log.info("wrote %s", snakemake.output.pdf)
