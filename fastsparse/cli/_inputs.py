"""Loading and validating a command's input: the data file, the target, feature names.

A problem with any of them (missing or unreadable file, shape mismatch, NaN/inf,
a target that is not class labels) is a :class:`~fastsparse.cli._errors.CLIError`.
"""

import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..datasets import read_float_array
from ._errors import CLIError, _one_line


class _Data:
    """The loaded problem: X (canonical CSC), y, optional names and load time."""

    def __init__(self, X, y, names, path, load_seconds):
        self.X, self.y, self.names = X, y, names
        self.path, self.load_seconds = path, load_seconds


def _load(args):
    """Read DATA, the target and feature names as the options say; validate them."""
    t0 = time.perf_counter()
    path = Path(args.data).expanduser()
    dtype = None if args.dtype is None else np.dtype(args.dtype)
    names = _read_names(args.feature_names) if args.feature_names else None
    try:
        if path.is_dir():
            X, y = _load_directory(path)
        elif path.suffix == ".npz":
            from ..datasets import load_npz

            X, y = load_npz(path)
        else:
            from ..datasets import load_svmlight

            n_features = None
            if names is not None and args.target_column is None:
                n_features = len(names)  # keeps trailing all-zero columns
            X, y = load_svmlight(path, n_features=n_features,
                                 dtype=np.float64 if dtype is None else dtype)
    except (OSError, ValueError, EOFError) as exc:
        raise CLIError(_one_line(exc)) from None
    if X.dtype.kind not in "biuf":
        raise CLIError(f"{path}: X has non-numeric values (dtype {X.dtype})")
    if dtype is None and X.dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)  # e.g. an integer .npz
    if dtype is not None and X.dtype != dtype:
        X = X.astype(dtype)
    n_samples = X.shape[0]
    if args.target_column is not None:
        X, y = _pop_column(X, args.target_column)
        if names is not None and len(names) == X.shape[1] + 1:
            names = names[:args.target_column % len(names)] + \
                names[args.target_column % len(names) + 1:]
    elif args.target is not None:
        y = _read_target(args.target, n_samples)
    if y is None:
        raise CLIError(f"{path} holds no target: give --target FILE or --target-column N")
    y = np.asarray(y, dtype=np.float64).ravel()
    if n_samples < 2 or X.shape[1] < 1:
        raise CLIError(f"{path}: need at least 2 samples and 1 feature, got X of shape "
                       f"{X.shape}")
    if y.shape != (n_samples,):
        raise CLIError(f"the target has {y.size} values but X has {n_samples} rows")
    bad = _count_nonfinite(X.data)
    if bad:
        raise CLIError(f"{path}: X contains {bad} NaN or infinite value(s)")
    bad = np.count_nonzero(~np.isfinite(y))
    if bad:
        raise CLIError(f"the target contains {bad} NaN or infinite value(s)")
    if names is not None and len(names) != X.shape[1]:
        raise CLIError(f"--feature-names has {len(names)} names but X has {X.shape[1]} "
                       f"features")
    return _Data(X, y, names, path, time.perf_counter() - t0)


def _load_directory(path):
    """A dataset directory of :func:`fastsparse.io.save_csc`: (X, y or None), mmapped."""
    from ..io import load_csc

    return load_csc(path, mmap=True)


def _count_nonfinite(values, block=1 << 22):
    """NaN/inf count in blocks: bounded memory on a memory-mapped array of any size."""
    return sum(int(np.count_nonzero(~np.isfinite(values[i:i + block])))
               for i in range(0, values.shape[0], block))


def _pop_column(X, column):
    """Split column ``column`` out of CSC ``X`` as a dense y, without densifying X.

    Copies ``data`` and ``indices`` once minus the column (a CSC matrix's columns are
    contiguous slices), and shifts ``indptr`` after it.
    """
    n, p = X.shape
    if not -p <= column < p:
        raise CLIError(f"--target-column {column} is out of range for {p} columns")
    if p < 2:
        raise CLIError("--target-column leaves no feature: X has a single column")
    j = column % p
    X = sp.csc_matrix(X)
    X.sum_duplicates()
    start, stop = int(X.indptr[j]), int(X.indptr[j + 1])
    y = np.zeros(n, dtype=np.float64)
    y[X.indices[start:stop]] = X.data[start:stop]
    data = np.concatenate((X.data[:start], X.data[stop:]))
    indices = np.concatenate((X.indices[:start], X.indices[stop:]))
    indptr = np.concatenate((X.indptr[:j + 1], X.indptr[j + 2:] - (stop - start)))
    return sp.csc_matrix((data, indices, indptr), shape=(n, p - 1)), y


def _read_target(name, n_samples):
    path = Path(name).expanduser()
    if not path.is_file():
        raise CLIError(f"target file not found: {name}")
    try:
        y = read_float_array(path)
    except (OSError, ValueError, EOFError, TypeError) as exc:
        raise CLIError(f"cannot read a target from {path}: {_one_line(exc)}") from None
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.ndim != 1:
        raise CLIError(f"the target in {path} must be one value per row, got shape "
                       f"{y.shape}")
    if y.shape[0] != n_samples:
        raise CLIError(f"the target in {path} has {y.shape[0]} values but X has "
                       f"{n_samples} rows")
    return y


def _read_names(name):
    path = Path(name).expanduser()
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read feature names from {path}: {_one_line(exc)}") from None


def _binary_labels(y):
    classes = np.unique(y)
    if classes.size < 2:
        raise CLIError(f"--model logistic needs at least 2 classes in the target, got "
                       f"{classes.size}")
    if classes.size > 50 and not np.all(classes == np.round(classes)):
        raise CLIError("--model logistic needs class labels; the target looks continuous "
                       f"({classes.size} distinct non-integer values)")
    return classes
