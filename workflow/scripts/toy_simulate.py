"""Run one toy SGD experiment (all its chains, vectorized) into an .npz file."""

import time

from latedecay.io import save_npz, script_logging
from latedecay.toy import experiment

with script_logging(snakemake.log[0]) as log:
    settings = dict(snakemake.params.settings)
    log.info("toy experiment %s: %s", snakemake.wildcards.experiment, settings)
    start = time.perf_counter()
    data = experiment.run(settings)
    log.info("simulated in %.2f s", time.perf_counter() - start)
    save_npz(snakemake.output.npz, **data)
