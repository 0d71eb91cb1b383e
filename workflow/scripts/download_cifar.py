"""Obtain the CIFAR-10 batch files (python layout) in data.root (torchvision download)."""

from latedecay.io import script_logging
from latedecay.nn.cifar import batch_dir, fetch_cifar, root_of

with script_logging(snakemake.log[0]) as log:
    root = root_of(snakemake.output[0])
    fetched = fetch_cifar(root)
    log.info("CIFAR-10 in %s (downloaded: %s)", batch_dir(root), ", ".join(fetched) or "none")
