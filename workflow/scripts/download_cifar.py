"""Obtain CIFAR-10 (python layout) in data.root and record its md5 check."""

from latedecay.io import save_json, script_logging
from latedecay.nn.cifar import ensure_cifar

with script_logging(snakemake.log[0]) as log:
    report = ensure_cifar(snakemake.params.root, allow_mismatch=snakemake.params.allow_checksum_mismatch)
    log.info("CIFAR-10 ready in %s (%d files differ from the official md5)", report["root"], len(report["mismatch"]))
    save_json(report, snakemake.output[0])
