"""The raw CIFAR-10 batch files (python layout): obtain through torchvision, md5-check, read.

torchvision's CIFAR10 class insists on the official md5 sums; rebuilt copies (such as
the offline pixel-exact one) differ, so the check is done here, with an explicit opt-in
(``allow_mismatch``) that still logs which files differ.

The batch files are pickles, and a plain ``pickle.load`` runs whatever code a file names;
``BatchUnpickler`` admits only the globals the batch format needs.
"""

import logging
import pickle
from pathlib import Path

import numpy as np
from numpy._core.multiarray import _reconstruct
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import calculate_md5, download_and_extract_archive

log = logging.getLogger("latedecay.nn.cifar")

TRAIN_FILES = [name for name, _ in CIFAR10.train_list]
TEST_FILES = [name for name, _ in CIFAR10.test_list]
OFFICIAL_MD5 = dict(CIFAR10.train_list + CIFAR10.test_list + [[CIFAR10.meta["filename"], CIFAR10.meta["md5"]]])


def batch_dir(root):
    return Path(root) / CIFAR10.base_folder


def root_of(batch_file):
    """data.root of a batch file path (root/cifar-10-batches-py/name)."""
    return Path(batch_file).parents[1]


def _missing(root):
    return [name for name in OFFICIAL_MD5 if not (batch_dir(root) / name).is_file()]


def _download(root, missing):
    try:
        download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
    except Exception as err:  # offline, proxy, or a broken archive: all end the same way
        raise FileNotFoundError(
            f"CIFAR-10 is not in {batch_dir(root)} (missing: {', '.join(missing)}) and the download "
            f"from {CIFAR10.url} failed ({err}). Put the python version there: the folder "
            f"{batch_dir(root)}/ with {', '.join(OFFICIAL_MD5)} (unpack {CIFAR10.filename} into "
            f"{root}), or set data.root to a folder that holds cifar-10-batches-py/."
        ) from err


def fetch_cifar(root):
    """Download the batch files into ``root`` (torchvision, archive md5-checked) unless all
    are there; return the names that were missing."""
    missing = _missing(root)
    if missing:
        log.info("CIFAR-10 missing in %s (%s): downloading %s", batch_dir(root), missing, CIFAR10.url)
        _download(root, missing)
    return missing


def ensure_cifar(root, allow_mismatch=False, download=True):
    """Make sure the batch files are in ``root``; return {file: md5} and the mismatching files.

    Downloads (with torchvision, archive md5-checked) when files are missing. A file whose
    md5 differs from the official release is an error unless ``allow_mismatch``; then it is
    logged as a warning.
    """
    if download:
        fetch_cifar(root)
    missing = _missing(root)
    if missing:
        raise FileNotFoundError(f"CIFAR-10 files missing in {batch_dir(root)}: {', '.join(missing)}")
    md5 = {name: calculate_md5(str(batch_dir(root) / name)) for name in OFFICIAL_MD5}
    mismatch = sorted(name for name, value in md5.items() if value != OFFICIAL_MD5[name])
    if mismatch and not allow_mismatch:
        raise RuntimeError(
            f"CIFAR-10 files in {batch_dir(root)} differ from the official md5 sums: {', '.join(mismatch)}. "
            "If this is a known rebuilt copy, set data.allow_checksum_mismatch: true."
        )
    if mismatch:
        log.warning(
            "accepting CIFAR-10 files whose md5 differs from the official release "
            "(data.allow_checksum_mismatch): %s",
            ", ".join(f"{batch_dir(root) / n} md5 {md5[n]} (official {OFFICIAL_MD5[n]})" for n in mismatch),
        )
    return {"root": str(root), "md5": md5, "mismatch": mismatch}


def _latin1_bytes(text, encoding):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes; any other codec is refused."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


# What the batch format holds besides dict, list, str, bytes and int (pickle opcodes):
# NumPy arrays and dtypes (numpy.core.* in the official files, numpy._core.* from NumPy 2)
# and, in protocol-2 pickles written by Python 3, bytes as _codecs.encode(str, "latin1").
SAFE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("_codecs", "encode"): _latin1_bytes,
}


class RefusedGlobal(pickle.UnpicklingError):
    """A batch file names a global outside ``SAFE_GLOBALS``: tampered with, or not a batch file."""


class BatchUnpickler(pickle.Unpickler):
    """Unpickler of CIFAR batch files: any global outside ``SAFE_GLOBALS`` is refused."""

    def find_class(self, module, name):
        try:
            return SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def load_batch_file(path):
    """The unpickled content of one batch file, read with ``BatchUnpickler``."""
    try:
        with open(path, "rb") as fh:
            return BatchUnpickler(fh, encoding="latin1").load()
    except RefusedGlobal as err:
        raise RefusedGlobal(
            f"refused to read CIFAR-10 batch file {path}: it names the global {err}, which the "
            "batch format never holds (a tampered or foreign file; replace it with the official one)"
        ) from None


def _read_batch(path):
    try:
        entry = load_batch_file(path)
        data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
    except FileNotFoundError:
        raise FileNotFoundError(f"missing CIFAR-10 batch file: {path}") from None
    except RefusedGlobal:
        raise
    except Exception as err:
        raise RuntimeError(f"cannot read CIFAR-10 batch file {path}: corrupt or wrong layout ({err})") from err
    if len(data) != len(labels):
        raise RuntimeError(f"CIFAR-10 batch file {path}: {len(data)} images but {len(labels)} labels")
    return data, labels


def read_split(root, train):
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of the training or test split."""
    parts = [_read_batch(batch_dir(root) / name) for name in (TRAIN_FILES if train else TEST_FILES)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
