"""The raw CIFAR-10 batch files (python layout): obtain through torchvision, md5-check, read.

torchvision's CIFAR10 class insists on the official md5 sums; rebuilt copies (such as
the offline pixel-exact one) differ, so the check is done here, with an explicit opt-in
(``allow_mismatch``) that still logs which files differ.

The batch files are pickles, read with the restricted reader of ``batch_pickle``; what it
returns is then checked (dtype, shape, label range), never cast, so a wrong file fails here,
named, rather than as scrambled pixels or a late error.
"""

import logging
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import calculate_md5, download_and_extract_archive

from .batch_pickle import RefusedGlobal, load_batch_file

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


LABEL_KEYS = ("labels", "fine_labels")  # CIFAR-10, CIFAR-100


def _checked_data(data):
    """The images as the format stores them: uint8 rows of 3 x 32 x 32 (CHW) pixels, never cast."""
    if not isinstance(data, np.ndarray):
        raise ValueError(f"data is a {type(data).__name__}, expected a uint8 array of shape (N, 3072)")
    if data.dtype != np.uint8:
        raise ValueError(f"data has dtype {data.dtype}, expected uint8")
    if data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"data has shape {data.shape}, expected (N, 3072) (3 x 32 x 32 channel planes per row)")
    return data.reshape(-1, 3, 32, 32)


def _checked_labels(labels, key, n):
    """``n`` integer labels in 0..9, as int64; a bool, float or out-of-range label is refused."""
    values = np.asarray(labels)  # a list of ints infers int64 (object beyond int64): never cast
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"{key} has shape {values.shape}, expected ({n},): one per image")
    if values.dtype.kind not in "iu":
        raise ValueError(f"{key} has dtype {values.dtype}, expected integers")
    bad = np.flatnonzero((values < 0) | (values > 9))
    if len(bad):
        raise ValueError(f"{key}[{bad[0]}] = {values[bad[0]]}, expected 0..9 ({len(bad)} such labels)")
    return values.astype(np.int64)


def _read_batch(path):
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of one batch file, validated."""
    try:
        entry = load_batch_file(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"missing CIFAR-10 batch file: {path}") from None
    except RefusedGlobal:
        raise
    except Exception as err:
        raise RuntimeError(f"cannot read CIFAR-10 batch file {path}: corrupt or wrong layout ({err})") from err
    try:
        if not isinstance(entry, dict) or "data" not in entry:
            raise ValueError(f"holds a {type(entry).__name__} without a data key, expected a dict with data and labels")
        key = next((k for k in LABEL_KEYS if k in entry), None)
        if key is None:
            raise ValueError("has no labels key")
        data = _checked_data(entry["data"])
        return data, _checked_labels(entry[key], key, len(data))
    except ValueError as err:
        raise RuntimeError(f"CIFAR-10 batch file {path}: {err}") from None


def read_split(root, train):
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of the training or test split."""
    parts = [_read_batch(batch_dir(root) / name) for name in (TRAIN_FILES if train else TEST_FILES)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
