"""CIFAR-10 training: data, models, losses, the training engine and its checkpoints.

Modules: ``cifar`` (raw batch files: download, md5, read), ``prepare`` (training
subset and evaluation set), ``data`` (normalization, prepared sets on the device),
``augment`` (batched crop/flip on the device), ``models``, ``losses``, ``rng``
(per-epoch seeds), ``evaluate``, ``checkpoint`` (checkpoints and resume states),
``engine`` (one loop for main path and subpaths), ``packed`` (several subpaths in one
process with torch.func), ``job`` (one Snakemake job end to end). Fig. 1's analysis
of the metrics files lives in ``latedecay.plots.fig1_summary``.
"""
