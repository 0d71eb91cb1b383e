"""Write the training subset and the evaluation set (uint8 images, labels, source indices)."""

import torch

from latedecay.io import save_torch, script_logging
from latedecay.nn.prepare import prepare_sets

with script_logging(snakemake.log[0]) as log:
    p = snakemake.params
    train, evaluation = prepare_sets(p.root, p.per_class, p.seed, p.eval_set, p.eval_limit)
    for name, record in (("train", train), ("eval", evaluation)):
        counts = torch.bincount(record["labels"], minlength=10).tolist()
        log.info("%s set: %d images (%s split), per class %s", name, len(record["labels"]), record["split"], counts)
    save_torch(train, snakemake.output.train)
    save_torch(evaluation, snakemake.output.eval)
