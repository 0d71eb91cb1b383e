"""md5-check the CIFAR-10 batch files, then write the training subset and the evaluation set
(uint8 images, labels, source indices)."""

import torch

from latedecay.io import save_json, save_torch, script_logging
from latedecay.nn.cifar import ensure_cifar, root_of
from latedecay.nn.prepare import prepare_sets

with script_logging(snakemake.log[0]) as log:
    p, root = snakemake.params, root_of(snakemake.input[0])
    report = ensure_cifar(root, allow_mismatch=p.allow_checksum_mismatch, download=False)
    log.info("CIFAR-10 in %s: %d files differ from the official md5", root, len(report["mismatch"]))
    train, evaluation = prepare_sets(root, p.per_class, p.seed, p.eval_set, p.eval_limit)
    for name, record in (("train", train), ("eval", evaluation)):
        counts = torch.bincount(record["labels"], minlength=10).tolist()
        log.info("%s set: %d images (%s split), per class %s", name, len(record["labels"]), record["split"], counts)
    save_json(report, snakemake.output.check)
    save_torch(train, snakemake.output.train)
    save_torch(evaluation, snakemake.output.eval)
