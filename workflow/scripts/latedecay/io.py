"""Atomic file output and checked input, shared by every entry script."""

import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; move it into place on success.

    A job killed mid-write leaves no half-written output behind, only a
    hidden ``.tmp`` file beside it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates 0600 files; give outputs the usual permissions.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_torch(obj, path):
    import torch

    # Through a file object: torch.save names the archive after a path it is given, and
    # the random temp-file name would make two identical runs write different bytes.
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)


def load_torch(path, map_location="cpu"):
    """Load a tensor file with ``weights_only=True``; name the file on failure."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing input file: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt files
        raise RuntimeError(f"cannot read {path}: corrupt or not a torch file ({err})") from err


def save_json(obj, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def load_json(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing input file: {path}")
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise RuntimeError(f"cannot read {path}: not valid JSON ({err})") from err


def save_npz(path, **arrays):
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_npz(path):
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing input file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as err:
        raise RuntimeError(f"cannot read {path}: corrupt or not an .npz file ({err})") from err


def save_csv(frame, path):
    """Write a pandas DataFrame as CSV atomically (no index; floats at full precision)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_figure(fig, path):
    """Save a matplotlib figure atomically (format from the suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), bbox_inches="tight")


@contextlib.contextmanager
def script_logging(log_path):
    """Send logging and stderr of a Snakemake ``script:`` job to its log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", buffering=1) as log:
        old_stderr = sys.stderr
        sys.stderr = log
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield logging.getLogger("latedecay")
        except BaseException:
            logging.getLogger("latedecay").exception("job failed")
            raise
        finally:
            root.removeHandler(handler)
            sys.stderr = old_stderr
