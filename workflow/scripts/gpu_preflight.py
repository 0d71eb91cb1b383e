"""Rule gpu_preflight: before a GPU job, check the driver, Triton's C toolchain and one
tiny compile on this machine (latedecay.nn.preflight); the job stops naming the fix."""

import logging

import torch

from latedecay.io import save_json, script_logging
from latedecay.nn import numerics, preflight
from latedecay.nn.settings import TrainSettings

with script_logging(snakemake.log[0]):
    settings = TrainSettings.from_params(snakemake.params.train)
    numerics.use_compile_cache(settings.compile_cache)  # the jobs' cache: a warm one makes this quick
    mode = numerics.compile_mode(settings.compile, torch.device("cuda"))
    facts = preflight.check(mode)
    logging.getLogger("latedecay.gpu_preflight").info("GPU preflight passed: %s", facts)
    save_json(facts, snakemake.output[0])
