"""Rule init_main: epoch 0 of one seed's main path, the seeded initial model evaluated and snapshotted."""

from latedecay.io import script_logging
from latedecay.nn import job
from latedecay.nn.device import for_training
from latedecay.nn.settings import TrainSettings

with script_logging(snakemake.log[0]):
    settings = TrainSettings.from_params(snakemake.params.train)
    device = for_training(settings, snakemake.threads)
    data = {"train": snakemake.input.train, "eval": snakemake.input.eval}
    job.init_main(data, settings, int(snakemake.wildcards.seed), dict(snakemake.output), device)
