"""Atomic file output and checked input, shared by every entry script."""

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import sys
from pathlib import Path

log = logging.getLogger("latedecay.io")

# errno values of a full disk or an exhausted quota.
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def rebuild_hint(path):
    """How to remake a bad upstream output: Snakemake does not notice a damaged file."""
    return f"rebuild it with: snakemake --forcerun {path}"


def _temp_pattern(path):
    """Names of atomic_path's temporary files for ``path``: .NAME.<8 hex digits>.tmp."""
    return re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.tmp")


def remove_stale_temps(path):
    """Delete temporary files a killed write of ``path`` left beside it."""
    pattern = _temp_pattern(path)
    for entry in path.parent.iterdir():
        if pattern.fullmatch(entry.name):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                log.info("removed %s, left by an interrupted write of %s", entry, path)


def _new_temp(path):
    """Create an empty temporary file beside ``path`` (name per _temp_pattern)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return tmp
        except FileExistsError:
            continue


def _disk_full(err):
    """The ENOSPC/EDQUOT OSError behind ``err`` (itself, its cause or context), or None."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in DISK_FULL:
            return err
        err = err.__cause__ or err.__context__
    return None


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; move it into place on success.

    A job killed mid-write leaves no half-written output behind, only a hidden
    ``.NAME.<hex>.tmp`` file beside it, removed by the next write of ``path``.
    A full disk is reported as such, naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = None
    try:
        tmp = _new_temp(path)
        yield tmp
        # The temp file is created 0600; give outputs the usual permissions.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        full = _disk_full(err)
        if full is not None:
            raise OSError(
                full.errno,
                f"no space left on device writing {path} ({os.strerror(full.errno)}): "
                f"free space in {path.parent} and rerun",
            ) from err
        raise


def save_torch(obj, path):
    import torch

    # Through a Python file object: torch.save names the archive after a path it is given
    # (the random temp-file name would make identical runs write different bytes), and a
    # full disk then raises OSError(ENOSPC).
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
        raise RuntimeError(f"cannot read {path}: corrupt or not a torch file ({err}); {rebuild_hint(path)}") from err


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
        raise RuntimeError(f"cannot read {path}: not valid JSON ({err}); {rebuild_hint(path)}") from err


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
        raise RuntimeError(f"cannot read {path}: corrupt or not an .npz file ({err}); {rebuild_hint(path)}") from err


def save_csv(frame, path):
    """Write a pandas DataFrame as CSV atomically (no index; floats at full precision)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


# Metadata matplotlib would fill with the time of saving: left out, so that identical
# figures are identical bytes (the other entries it writes are fixed).
UNDATED = {"pdf": {"CreationDate": None}, "ps": {"CreationDate": None}, "svg": {"Date": None}}


def save_figure(fig, path):
    """Save a matplotlib figure atomically (format from the suffix), without a date."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, bbox_inches="tight", metadata=UNDATED.get(fmt))


@contextlib.contextmanager
def script_logging(log_path):
    """Send logging and stderr of a Snakemake ``script:`` job to its log file. A failure
    is also named on the job's own stderr (the SLURM job log): Snakemake deletes the log
    file when it retries the job."""
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
        except BaseException as err:
            logging.getLogger("latedecay").exception("job failed")
            print(f"{log_path}: job failed: {type(err).__name__}: {err}", file=old_stderr, flush=True)
            raise
        finally:
            root.removeHandler(handler)
            sys.stderr = old_stderr
