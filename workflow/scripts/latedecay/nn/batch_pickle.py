"""The restricted reader of CIFAR batch files (pickles): no code runs, nothing outgrows the file.

A plain ``pickle.load`` runs whatever code a file names; ``BatchUnpickler`` admits only the
globals the batch format needs. A pickle can also declare sizes it does not hold (a bytes
length, a memo index, an array shape) and the C unpickler and NumPy allocate them before
noticing: a 2 KB file can ask for gigabytes. So every declared size is checked against the
bytes actually in the file first: lengths and memo indices by an opcode scan
(``pickletools.genops`` reads only what is there), array sizes when the array is built.
"""

import io
import math
import pickle
import pickletools

import numpy as np
from numpy._core.multiarray import _reconstruct

# Opcodes whose argument is a size the unpickler allocates for: a memo index, a frame length.
SIZED_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT", "FRAME"}


class RefusedGlobal(pickle.UnpicklingError):
    """A batch file names a global outside ``SAFE_GLOBALS``: tampered with, or not a batch file."""


def _latin1_bytes(text, encoding):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes; any other codec is refused."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _ndarray_name(*args):
    """What ``numpy.ndarray`` resolves to: an argument of ``_reconstruct``, refused as a call
    (``ndarray(shape)`` allocates the shape's bytes uninitialised, whatever the file holds)."""
    raise pickle.UnpicklingError("it calls numpy.ndarray directly (an uninitialised array): the format never does")


class BoundedArray(np.ndarray):
    """An array as the reader builds it: its state's size is checked before NumPy allocates it."""

    limit = 0  # bytes; set by the reader that builds it

    def __setstate__(self, state):
        _check_array_state(state, self.limit)
        super().__setstate__(state)


def _check_array_state(state, limit):
    """Refuse an array state (``[version,] shape, dtype, ...``) larger than ``limit`` bytes."""
    try:
        shape, dtype = tuple(int(n) for n in state[-4]), np.dtype(state[-3])
    except (TypeError, ValueError, IndexError) as err:
        raise pickle.UnpicklingError(f"malformed array state ({err})") from None
    if dtype.hasobject:  # object arrays are lists of any length: refused, the format has none
        raise pickle.UnpicklingError(f"refused an array of dtype {dtype} (objects)")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > limit:
        raise pickle.UnpicklingError(
            f"it declares an array of shape {shape} and dtype {dtype} ({nbytes:,} bytes) "
            f"but holds only {limit:,} bytes"
        )


# What the batch format holds besides dict, list, str, bytes and int (pickle opcodes):
# NumPy arrays and dtypes (numpy.core.* in the official files, numpy._core.* from NumPy 2)
# and, in protocol-2 pickles written by Python 3, bytes as _codecs.encode(str, "latin1").
RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
SAFE_GLOBALS = {("numpy", "ndarray"): _ndarray_name, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1_bytes}


class BatchUnpickler(pickle.Unpickler):
    """Unpickler of CIFAR batch files: globals outside the format are refused, and every array
    is bounded by ``limit`` bytes (the file's size)."""

    def __init__(self, fh, limit):
        super().__init__(fh, encoding="latin1")
        self.limit = limit

    def find_class(self, module, name):
        if (module, name) in RECONSTRUCT:
            return self._reconstruct
        try:
            return SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None

    def _reconstruct(self, subtype, shape, typecode):
        if subtype is not _ndarray_name:
            raise pickle.UnpicklingError(f"refused _reconstruct of {subtype!r}")
        _check_array_state((shape, typecode, None, None), self.limit)
        array = _reconstruct(BoundedArray, shape, typecode)
        array.limit = self.limit
        return array


def _scan(raw):
    """Check every size the pickle declares against its length, before the C unpickler sees it."""
    try:
        for opcode, arg, pos in pickletools.genops(io.BytesIO(raw)):  # a length past the end: ValueError
            if opcode.name in SIZED_OPCODES and int(arg) > len(raw):
                raise ValueError(f"{opcode.name} {arg:,} at byte {pos} but it holds only {len(raw):,} bytes")
    except ValueError as err:
        raise pickle.UnpicklingError(str(err)) from None


def _plain(value):
    """A top-level array as a plain ndarray (a view: no copy)."""
    return value.view(np.ndarray) if isinstance(value, np.ndarray) else value


def load_batch_file(path):
    """The unpickled content of one batch file, read with ``BatchUnpickler`` within its size."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        _scan(raw)
        entry = BatchUnpickler(io.BytesIO(raw), limit=len(raw)).load()
    except RefusedGlobal as err:
        raise RefusedGlobal(
            f"refused to read CIFAR-10 batch file {path}: it names the global {err}, which the "
            "batch format never holds (a tampered or foreign file; replace it with the official one)"
        ) from None
    return {key: _plain(value) for key, value in entry.items()} if isinstance(entry, dict) else entry
