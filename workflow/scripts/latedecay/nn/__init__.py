"""CIFAR-10 training: data, models, losses, the training core and its checkpoints.

Modules: ``cifar`` (raw batch files: download, md5, read), ``prepare`` (training
subset and evaluation set), ``data`` (normalization, prepared sets on the device),
``augment`` (batched crop/flip on the device), ``models`` (incl. the keyed dropout),
``losses``, ``rng`` (generators keyed by seed, run, epoch and purpose), ``evaluate``,
``settings`` (the training rules' settings), ``device`` (device, threads, CUDA
determinism), ``gpu_slots`` (one GPU per job), ``preflight`` (the GPU toolchain checks),
``trainer`` (the one training core: K >= 1 models in lockstep), ``engine`` (the epoch
loop: cadences, histories, divergence guard), ``checkpoint`` (checkpoints and resume
states), ``job`` (one Snakemake job end to end), ``fast_eval`` (exact evaluation rewrites).
"""
