"""Out-of-core CSC data: a directory of ``.npy`` arrays that is memory-mapped, not loaded.

A dataset directory written by :func:`save_csc` (or :func:`convert_svmlight`) holds

- ``data.npy``, ``indices.npy``, ``indptr.npy``: the three arrays of a canonical CSC matrix
  (sorted row indices, no duplicates), in ``np.save`` format so that
  ``np.load(..., mmap_mode="r")`` maps them;
- ``y.npy`` (optional): the target, one value per row;
- ``meta.json``: format name and version, shape, number of stored entries and dtypes.

:func:`load_csc` maps the three arrays read-only and wraps them in a
``scipy.sparse.csc_matrix`` without copying them (scipy's constructor would copy int64
index arrays whose values fit in int32; the loader sets the arrays after construction
instead). The estimators, paths and cross-validation of fastsparse use such a matrix as it
is: the operating system pages the columns in as the solver reads them, so a matrix larger
than the memory of the machine can be fitted, and several processes fitting the same file
share one copy in the page cache.

:func:`convert_svmlight` turns an svmlight / libsvm text file (optionally ``.gz`` or
``.bz2``) into such a directory in two streaming passes, with memory O(n_features +
chunk), never O(non-zeros). :func:`release_pages` drops the mapped pages of a matrix from
the resident set of the process (they stay in the page cache), the building block for
keeping the peak resident memory of a fit well below the size of the matrix.

Command line::

    python -m fastsparse.io convert SRC DST [--n-features P] [--dtype float32|float64]
"""

import argparse
import bz2
import contextlib
import gzip
import io
import json
import mmap
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numba import njit

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "column_blocks",
    "convert_svmlight",
    "load_csc",
    "release_pages",
    "save_csc",
]

#: Name written to ``meta.json`` (``"format"``); :func:`load_csc` refuses anything else.
FORMAT_NAME = "fastsparse-csc"
#: Version of the directory layout; bumped on any incompatible change.
FORMAT_VERSION = 1

_ARRAYS = ("data", "indices", "indptr")
_INT32_MAX = np.iinfo(np.int32).max
#: Upper bound on the text parsed at once by :func:`convert_svmlight`, whatever
#: ``chunk_lines`` says: very long rows must not make one chunk huge.
_CHUNK_BYTES = 4 << 20
#: Stored entries per column group when :func:`convert_svmlight` scatters a chunk: the
#: most of the output (1M entries: 12 MB for float64 data and int32 indices) that its
#: resident memory holds at a time.
_SCATTER_BLOCK_NNZ = 1 << 20
#: Entries of ``indptr`` / ``indices`` scanned at once by ``load_csc(validate=True)``
#: before the chunk's pages are released.
_SCAN_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------
# Writing: atomic directories
# --------------------------------------------------------------------------------------


def _is_dataset_dir(path):
    """Whether ``path`` holds a ``meta.json`` of this format (safe to replace)."""
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT_NAME


def _check_target(dst, overwrite):
    """Refuse to replace anything but a dataset directory (or an empty one)."""
    from ._validation import check_bool_param  # here: _validation imports this module

    # A string such as "no" is truthy: it must not mean "replace the user's data".
    overwrite = check_bool_param(overwrite, "overwrite")
    if not os.path.lexists(dst):
        return
    if not overwrite:
        raise FileExistsError(f"{dst} already exists; pass overwrite=True to replace it.")
    if not dst.is_dir() or dst.is_symlink():
        raise FileExistsError(f"{dst} exists and is not a directory; not replacing it.")
    if any(dst.iterdir()) and not _is_dataset_dir(dst):
        # overwrite=True must never delete an arbitrary directory given by mistake.
        raise FileExistsError(
            f"{dst} is not a {FORMAT_NAME} dataset directory (no valid meta.json); "
            "refusing to replace it."
        )


def _fsync_path(path):
    """fsync a file or directory (best effort on platforms without directory fsync)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _atomic_directory(dst, overwrite):
    """Yield a temporary directory next to ``dst``; rename it to ``dst`` on success.

    The temporary directory is a sibling of ``dst`` (same file system), so the final
    rename is atomic: an interrupted write (exception, Ctrl-C, crash) never leaves a
    half-written ``dst``. On failure the temporary directory is removed (after a hard
    crash a ``.<name>.tmp-*`` sibling may remain; it is never mistaken for ``dst``).
    Replacing an existing ``dst`` takes two renames (old away, new in), so for a moment
    no ``dst`` exists; a reader never sees a mix of old and new files.
    """
    dst = Path(dst)
    _check_target(dst, overwrite)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.tmp-", dir=dst.parent))
    try:
        yield tmp
        _fsync_path(tmp)
        if os.path.lexists(dst):
            _check_target(dst, overwrite)  # again: it may have appeared meanwhile
            old = dst.parent / f".{dst.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(dst, old)
            try:
                os.rename(tmp, dst)
            except BaseException:
                os.rename(old, dst)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, dst)
        _fsync_path(dst.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_npy(path, arr):
    """Write one array in ``np.save`` format and fsync it (memory maps are not copied)."""
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _write_meta(directory, shape, nnz, dtypes, has_y):
    from . import __version__

    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "shape": [int(shape[0]), int(shape[1])],
        "nnz": int(nnz),
        "dtypes": {k: np.dtype(v).str for k, v in dtypes.items()},
        "has_y": bool(has_y),
        "canonical": True,
        "writer": f"fastsparse {__version__}",
    }
    path = directory / "meta.json"
    with open(path, "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return meta


def _check_y(y, n_samples):
    """A numeric 1-D target of length n_samples, dtype kept (labels stay integers)."""
    if sp.issparse(y):
        y = y.toarray()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(f"y must have shape ({n_samples},), got {y.shape}.")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y must be numeric, got dtype {y.dtype}.")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinity.")
    return y


def save_csc(path, X, y=None, *, overwrite=False):
    """Write a sparse matrix (and target) as a memory-mappable dataset directory.

    Parameters
    ----------
    path : str or path-like
        Directory to create. Its parent directories are created as needed.
    X : {sparse matrix, sparse array, array-like} of shape (n_samples, n_features)
        The matrix. A canonical CSC matrix (sorted row indices, no duplicates, float32 or
        float64 values, int32 or int64 indices) is written as it is, without a copy in
        memory, memory-mapped arrays included. Anything else (CSR, COO, unsorted or
        duplicate entries, other dtypes, dense arrays) is first converted by
        :func:`fastsparse._validation.check_csc`, which is a copy. When ``indices`` and
        ``indptr`` have different dtypes both are written with the wider one, since the
        solvers need one index dtype.
    y : array-like of shape (n_samples,), default=None
        Optional target, written as ``y.npy`` with its numeric dtype.
    overwrite : bool, default=False
        Replace an existing dataset directory at ``path``. Without it an existing
        ``path`` raises ``FileExistsError``. Even with it, only a directory holding a
        ``meta.json`` of this format (or an empty directory) is replaced.

    Returns
    -------
    path : pathlib.Path
        The directory written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and may not be replaced.
    ValueError, TypeError
        If X or y is malformed (the checks of the estimators).

    Notes
    -----
    The write is atomic: the files go to a temporary sibling directory that is renamed
    to ``path`` once every file is complete and flushed to disk, so an interrupted save
    never leaves a half-written dataset behind.

    Examples
    --------
    >>> import tempfile, os
    >>> import scipy.sparse as sp
    >>> from fastsparse.io import save_csc, load_csc
    >>> X = sp.random(20, 30, density=0.1, format="csc", random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_csc(os.path.join(tmp, "ds"), X, y=list(range(20)))
    ...     X2, y2 = load_csc(os.path.join(tmp, "ds"))
    ...     print(abs(X2 - X).max(), type(X2.data).__name__, y2[:3])
    0.0 memmap [0 1 2]
    """
    from ._validation import check_csc  # here: _validation imports this module

    path = Path(path)
    _check_target(path, overwrite)  # fail before any expensive work
    X = check_csc(X)
    if y is not None:
        y = _check_y(y, X.shape[0])
    data, indices, indptr = X.data, X.indices, X.indptr
    nnz = int(indptr[-1])
    dtypes = {"data": data.dtype, "indices": indices.dtype, "indptr": indptr.dtype}
    if y is not None:
        dtypes["y"] = y.dtype
    with _atomic_directory(path, overwrite) as tmp:
        _write_npy(tmp / "data.npy", data[:nnz])
        _write_npy(tmp / "indices.npy", indices[:nnz])
        _write_npy(tmp / "indptr.npy", indptr)
        if y is not None:
            _write_npy(tmp / "y.npy", y)
        _write_meta(tmp, X.shape, nnz, dtypes, y is not None)
    return path


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _read_meta(path):
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a directory (expected a {FORMAT_NAME} "
                                "dataset written by fastsparse.io.save_csc).")
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} is missing: {path} is not a {FORMAT_NAME} "
                                "dataset directory.")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{meta_path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{meta_path}: format is not {FORMAT_NAME!r}.")
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"{meta_path}: unsupported format version {meta.get('version')!r} "
                         f"(this fastsparse reads version {FORMAT_VERSION}).")
    try:
        n, p = (int(v) for v in meta["shape"])
        nnz = int(meta["nnz"])
        dtypes = {k: np.dtype(meta["dtypes"][k]) for k in _ARRAYS}
        has_y = bool(meta["has_y"])
        if has_y:
            dtypes["y"] = np.dtype(meta["dtypes"]["y"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{meta_path} is missing or has a malformed entry: {exc!r}") from None
    if n < 0 or p < 0 or nnz < 0:
        raise ValueError(f"{meta_path}: negative shape or nnz.")
    return (n, p), nnz, dtypes, has_y


def _load_array(path, name, mmap_mode):
    file = path / f"{name}.npy"
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing.")
    try:
        arr = np.load(file, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f"{file} is not a readable .npy array (truncated or corrupted?): "
                         f"{exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{file} must hold a 1-D array, got shape {arr.shape}.")
    return arr


def _check_loaded(path, shape, nnz, dtypes, arrays, full):
    """Check the arrays against meta.json; O(1) always, O(p + nnz) scans when ``full``."""
    n, p = shape
    expected = {"data": (nnz,), "indices": (nnz,), "indptr": (p + 1,)}
    if "y" in arrays:
        expected["y"] = (n,)
    for name, arr in arrays.items():
        if arr.dtype != dtypes[name]:
            raise ValueError(f"{path / name}.npy has dtype {arr.dtype}, meta.json says "
                             f"{dtypes[name]}.")
        if arr.shape != expected[name]:
            raise ValueError(f"{path / name}.npy has shape {arr.shape}, expected "
                             f"{expected[name]} from meta.json (shape {shape}, nnz {nnz}).")
    data, indices, indptr = (arrays[k] for k in _ARRAYS)
    if data.dtype.type not in (np.float32, np.float64):
        raise ValueError(f"{path}: data dtype {data.dtype} is not float32 or float64.")
    for name in ("indices", "indptr"):
        if arrays[name].dtype.type not in (np.int32, np.int64):
            raise ValueError(
                f"{path}: {name} dtype {arrays[name].dtype} is not int32/int64.")
    if indices.dtype != indptr.dtype:
        raise ValueError(f"{path}: indices ({indices.dtype}) and indptr ({indptr.dtype}) "
                         "must have the same dtype.")
    if indptr[0] != 0 or indptr[-1] != nnz:
        raise ValueError(f"{path}: indptr must start at 0 and end at nnz = {nnz}, got "
                         f"{indptr[0]} ... {indptr[-1]}.")
    if not full:
        return
    # Chunk by chunk, each chunk's pages released (a no-op in memory): one read of
    # indptr and of indices without leaving them in the resident memory, and no
    # temporary of their size.
    for a in range(0, p, _SCAN_CHUNK):
        b = min(a + _SCAN_CHUNK, p)
        if np.any(indptr[a + 1:b + 1] < indptr[a:b]):
            raise ValueError(f"{path}: indptr is not non-decreasing.")
        _advise_dontneed(indptr, a * indptr.itemsize, (b + 1) * indptr.itemsize)
    if nnz > 0:
        lo, hi = None, None
        for a in range(0, nnz, _SCAN_CHUNK):
            chunk = indices[a:a + _SCAN_CHUNK]
            c_lo, c_hi = chunk.min(), chunk.max()
            lo = c_lo if lo is None else min(lo, c_lo)
            hi = c_hi if hi is None else max(hi, c_hi)
            _advise_dontneed(indices, a * indices.itemsize,
                             (a + chunk.shape[0]) * indices.itemsize)
        if lo < 0 or hi >= n:
            raise ValueError(f"{path}: row indices must lie in [0, {n}), found values in "
                             f"[{lo}, {hi}].")
    y = arrays.get("y")
    if y is not None and y.dtype.kind not in "biuf":
        raise ValueError(f"{path}: y has non-numeric dtype {y.dtype}.")


def _csc_from_arrays(data, indices, indptr, shape):
    """A csc_matrix whose arrays are exactly ``data``, ``indices``, ``indptr`` (no copy).

    ``sp.csc_matrix((data, indices, indptr))`` would scan int64 index arrays and copy
    them to int32 when their values fit; building an empty matrix and setting the arrays
    afterwards keeps the caller's arrays (memory maps included) and skips that scan.
    """
    X = sp.csc_matrix(shape, dtype=data.dtype)
    X.data, X.indices, X.indptr = data, indices, indptr
    X.check_format(full_check=False)  # O(1): lengths and indptr ends only
    return X


def load_csc(path, mmap=True, *, validate=True):
    """Open a dataset directory written by :func:`save_csc` or :func:`convert_svmlight`.

    Parameters
    ----------
    path : str or path-like
        The dataset directory.
    mmap : bool, default=True
        Memory-map the arrays read-only (``np.load(mmap_mode="r")``): nothing is read
        until used, and the pages of the file are shared with the page cache and with
        other processes. False reads every array into memory.
    validate : bool, default=True
        Check the arrays against ``meta.json``: shapes and dtypes, ``len(indptr) ==
        n_features + 1`` and ``indptr[-1] == nnz`` (always checked, O(1)), plus a
        non-decreasing ``indptr`` (reads ``indptr``, O(n_features)) and row indices in
        range (reads the whole ``indices`` array once, O(nnz)). The fit re-checks the CSC
        structure in :func:`fastsparse._validation.check_csc` anyway (index range again,
        and whether each column's indices are sorted and unique, one more read of
        ``indices``), so ``validate=False`` is safe for fitting with fastsparse and
        saves one read of ``indices`` here; keep it on to get errors naming the file at
        load time.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        With ``mmap=True`` its ``data``, ``indices`` and ``indptr`` are the read-only
        ``numpy.memmap`` arrays themselves (int64 indices stay int64, no copy).
    y : ndarray of shape (n_samples,) or None
        The target if the directory has one (memory-mapped with ``mmap=True``).

    Raises
    ------
    FileNotFoundError
        If the directory, ``meta.json`` or one of the arrays is missing.
    ValueError
        If ``meta.json`` is malformed or disagrees with the arrays, or an array file is
        truncated or corrupted.

    Notes
    -----
    What a fit reads from a memory-mapped matrix: :func:`~fastsparse._validation.check_csc`
    reads ``data`` once (finite values) and ``indices`` twice (range, canonical format);
    then every outer iteration of the solver reads the columns still in play (the duality
    gap needs ``X^T r`` over all of them). The first fit after a reboot therefore reads
    the file from disk; later ones find it in the page cache.

    Examples
    --------
    >>> import tempfile, os
    >>> import scipy.sparse as sp
    >>> import fastsparse
    >>> from fastsparse.io import save_csc, load_csc
    >>> X = sp.random(50, 40, density=0.2, format="csc", random_state=0)
    >>> y = X @ ([1.0] * 4 + [0.0] * 36)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_csc(os.path.join(tmp, "ds"), X, y)
    ...     Xm, ym = load_csc(os.path.join(tmp, "ds"))
    ...     model = fastsparse.Lasso(alpha=1e-3).fit(Xm, ym)
    ...     del Xm, ym  # release the maps before the directory goes away
    >>> bool(model.dual_gap_ >= 0)
    True
    """
    from ._validation import check_bool_param  # here: _validation imports this module

    mmap = check_bool_param(mmap, "mmap")
    validate = check_bool_param(validate, "validate")
    path = Path(path)
    shape, nnz, dtypes, has_y = _read_meta(path)
    mode = "r" if mmap else None
    arrays = {name: _load_array(path, name, mode) for name in _ARRAYS}
    if has_y:
        arrays["y"] = _load_array(path, "y", mode)
    _check_loaded(path, shape, nnz, dtypes, arrays, full=validate)
    X = _csc_from_arrays(arrays["data"], arrays["indices"], arrays["indptr"], shape)
    return X, arrays.get("y")


# --------------------------------------------------------------------------------------
# Resident memory of memory-mapped matrices
# --------------------------------------------------------------------------------------


def _backing_mmap(arr):
    """The shared ``mmap.mmap`` behind ``arr`` and the byte offset of ``arr[0]`` in it.

    None for arrays in ordinary memory and for private (copy-on-write, ``mode="c"``)
    maps: dropping those pages would discard the process's own modifications.
    """
    obj = arr
    while obj is not None:
        if isinstance(obj, np.memmap) and obj.mode == "c":
            return None
        if isinstance(obj, mmap.mmap):
            if type(obj) is not mmap.mmap:
                # A subclass: _mmap_passes.lazy_zeros' private anonymous map, whose
                # released pages would read back as zeros.
                return None
            try:
                start = np.frombuffer(obj, dtype=np.uint8).ctypes.data
            except (ValueError, TypeError):  # closed or empty map
                return None
            return obj, arr.__array_interface__["data"][0] - start
        obj = getattr(obj, "base", None)
    return None


def _advise_dontneed(arr, start, stop):
    """madvise(MADV_DONTNEED) on bytes [start, stop) of ``arr``; returns bytes advised."""
    if stop <= start or not hasattr(mmap, "MADV_DONTNEED"):
        return 0
    found = _backing_mmap(arr)
    if found is None:
        return 0
    mm, offset = found
    page = mmap.PAGESIZE
    # Round outwards to whole pages: releasing a neighbour's page only costs a refault.
    lo = (offset + start) // page * page
    hi = min(len(mm), -(-(offset + stop) // page) * page)
    if hi <= lo:
        return 0
    mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
    return hi - lo


def _csc_arrays(X):
    if isinstance(X, tuple):
        return X
    if not sp.issparse(X) or X.format != "csc":
        raise TypeError("X must be a CSC matrix or a (data, indices, indptr) tuple.")
    return X.data, X.indices, X.indptr


def release_pages(X, columns=None):
    """Drop the memory-mapped pages of X from this process's resident memory.

    Pages of a file mapping that the process has read count in its resident set size
    (RSS) until they are unmapped or the kernel evicts them. This advises the kernel
    (``madvise(MADV_DONTNEED)``) that the pages are not needed now: they leave the RSS at
    once but stay in the page cache, so reading them again costs a minor page fault, not
    disk I/O. Arrays in ordinary memory and copy-on-write maps are left alone.

    Safe for read-only and for shared writable maps (``np.memmap`` modes ``"r"``,
    ``"r+"``, ``"w+"``): modified pages of a shared file map stay in the page cache and
    reach the file as usual.

    Parameters
    ----------
    X : scipy.sparse CSC matrix or tuple (data, indices, indptr)
        A matrix whose arrays may be memory-mapped (e.g. from :func:`load_csc`).
    columns : None, slice or tuple (start, stop), default=None
        None releases the whole of the three arrays. A column range releases the parts
        of ``data`` and ``indices`` holding those columns (``indptr[start]`` to
        ``indptr[stop]``) and ``indptr[start:stop + 1]``, rounded outward to whole
        pages.

    Returns
    -------
    n_bytes : int
        Number of bytes advised (0 when nothing is memory-mapped or the platform has no
        ``MADV_DONTNEED``).

    Notes
    -----
    A full pass over the matrix (``X^T r`` for the duality gap, the column norms, the
    screening tests) touches every page once, so without releasing, the peak RSS of a
    fit on a memory-mapped matrix includes the whole matrix. Calling this on column
    blocks as a pass proceeds (see :func:`column_blocks`) bounds the mapped part of the
    RSS by one block. ``scripts/mmap_memory.py`` measures the effect.
    """
    data, indices, indptr = _csc_arrays(X)
    if columns is None:
        return sum(_advise_dontneed(a, 0, a.nbytes) for a in (data, indices, indptr))
    if isinstance(columns, slice):
        start, stop, step = columns.indices(indptr.shape[0] - 1)
        if step != 1:
            raise ValueError("columns must be a contiguous range (step 1).")
    else:
        start, stop = (int(c) for c in columns)
    if not 0 <= start <= stop <= indptr.shape[0] - 1:
        raise ValueError(f"column range [{start}, {stop}) is out of bounds.")
    lo, hi = int(indptr[start]), int(indptr[stop])
    return (_advise_dontneed(data, lo * data.itemsize, hi * data.itemsize)
            + _advise_dontneed(indices, lo * indices.itemsize, hi * indices.itemsize)
            + _advise_dontneed(indptr, start * indptr.itemsize,
                               (stop + 1) * indptr.itemsize))


def column_blocks(indptr, cols=None, block_nnz=1 << 23):
    """Split a pass over columns into consecutive blocks spanning ~``block_nnz`` entries.

    A block is a run of the pass's columns lying in one range of columns of X whose
    stored entries (one contiguous region of ``data`` and ``indices``) number about
    ``block_nnz``: the memory a pass over the block touches. Computed by binary search
    in ``indptr`` and ``cols``, in O(n_blocks log n_features) time and without any
    temporary array as long as ``cols`` (a pass over millions of columns must not
    allocate millions of counts just to plan its blocks).

    Parameters
    ----------
    indptr : ndarray of shape (n_features + 1,)
        Column pointers of a CSC matrix (``indptr[0] == 0``).
    cols : ndarray of int or None, default=None
        Increasing column indices of the pass; None means every column.
    block_nnz : int, default=2**23
        Stored entries of X spanned by a block (a block holds at least one column, so
        a longer column makes a longer block).

    Returns
    -------
    bounds : list of (start, stop)
        Half-open, consecutive, non-empty ranges of positions: into ``cols`` when
        given, else column ranges. A pass can process ``cols[start:stop]`` and then
        call ``release_pages(X, (cols[start], cols[stop - 1] + 1))``.
    """
    if block_nnz < 1:
        raise ValueError(f"block_nnz must be positive, got {block_nnz}.")
    p = indptr.shape[0] - 1
    # Searches in the dtype of the array searched: np.searchsorted would otherwise cast
    # all of indptr (or cols) to the common dtype, an O(n_features) temporary. The
    # targets fit, being below indptr[-1] (resp. at most n_features).
    targets = np.arange(block_nnz, int(indptr[-1]), block_nnz, dtype=np.int64)
    targets = targets.astype(indptr.dtype)
    # Column ranges: a cut before the first column starting at or after each target.
    col_cuts = np.concatenate(([0], np.searchsorted(indptr[:-1], targets), [p]))
    if cols is None:
        cuts = col_cuts
    else:
        cols = np.asarray(cols)
        if p > np.iinfo(cols.dtype).max:
            cols = cols.astype(np.int64)
        cuts = np.searchsorted(cols, col_cuts.astype(cols.dtype))
    cuts = np.unique(cuts)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


# --------------------------------------------------------------------------------------
# svmlight / libsvm conversion
# --------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _sort_chunk_by_group(values, cols, row_ptr, row0, group_first, out_vals, out_cols,
                         out_rows, bounds):
    """Counting sort of a CSR chunk's entries by column group, stable (row order kept).

    Group g holds the columns ``group_first[g] <= j < group_first[g + 1]``. Writes the
    sorted entries (value, column, matrix row ``row0 + i``) to ``out_*`` and the start
    of each group's run to ``bounds`` (length n_groups + 1). O(chunk log n_groups).
    """
    n_groups = bounds.shape[0] - 1
    bounds[:] = 0
    nnz = cols.shape[0]
    grp = np.empty(nnz, dtype=np.int32)
    for k in range(nnz):
        g = np.searchsorted(group_first, cols[k], side="right") - 1
        grp[k] = g
        bounds[g + 1] += 1
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]
    fill = bounds[:-1].copy()
    for i in range(row_ptr.shape[0] - 1):
        for k in range(np.int64(row_ptr[i]), np.int64(row_ptr[i + 1])):
            pos = fill[grp[k]]
            out_vals[pos] = values[k]
            out_cols[pos] = cols[k]
            out_rows[pos] = row0 + i
            fill[grp[k]] = pos + 1


@njit(cache=True, nogil=True)
def _scatter_entries(lo, hi, vals, cols, rows, cursor, col_end, data, indices):
    """Append entries ``lo:hi`` (rows increasing within each column) to their columns.

    ``cursor[j]`` is the next free slot of column j in the preallocated ``data`` /
    ``indices``, so each column's row indices come out sorted. Returns False (having
    written nothing out of bounds) if a column receives more entries than the first
    pass counted, i.e. the file changed.
    """
    for k in range(lo, hi):
        j = cols[k]
        pos = cursor[j]
        if pos >= col_end[j]:
            return False
        data[pos] = vals[k]
        indices[pos] = rows[k]
        cursor[j] = pos + 1
    return True


@njit(cache=True, nogil=True)
def _count_columns(cols, counts):
    """counts[j] += number of occurrences of j in cols."""
    for k in range(cols.shape[0]):
        counts[cols[k]] += 1


def _open_svmlight(src):
    """Binary file object, decompressing ``.gz`` / ``.bz2`` by extension (as sklearn)."""
    name = os.fspath(src)
    if name.endswith(".gz"):
        return gzip.open(name, "rb")
    if name.endswith(".bz2"):
        return bz2.open(name, "rb")
    return open(name, "rb")


def _iter_chunks(src, chunk_lines):
    """Yield ``(first_line, text)`` for consecutive chunks of whole lines of ``src``."""
    with _open_svmlight(src) as f:
        buf, size, first = [], 0, 1
        for line in f:
            buf.append(line)
            size += len(line)
            if len(buf) >= chunk_lines or size >= _CHUNK_BYTES:
                yield first, b"".join(buf)
                first += len(buf)
                buf, size = [], 0
        if buf:
            yield first, b"".join(buf)


def _parse_chunk(src, first, text, n_features, dtype, zero_based):
    """Parse one chunk with scikit-learn's svmlight parser (CSR chunk, labels)."""
    from sklearn.datasets import load_svmlight_file

    try:
        X, y = load_svmlight_file(io.BytesIO(text), n_features=n_features, dtype=dtype,
                                  zero_based=zero_based, query_id=False)
    except ValueError as exc:
        last = first + text.count(b"\n") - (1 if text.endswith(b"\n") else 0)  # inclusive
        raise ValueError(f"{src}, lines {first}-{last}: {exc}") from None
    if not np.all(np.isfinite(X.data)) or not np.all(np.isfinite(y)):
        raise ValueError(f"{src}, lines {first}-: NaN or infinity in the values or labels "
                         "(fastsparse cannot fit them).")
    return X, y


def _first_pass(src, dtype, chunk_lines):
    """Count entries per raw column index, rows and labels; indices as written."""
    counts = np.zeros(1024, dtype=np.int64)
    labels = []
    n_rows = nnz = 0
    raw_min, raw_max = None, -1
    for first, text in _iter_chunks(src, chunk_lines):
        X, y = _parse_chunk(src, first, text, None, dtype, True)
        labels.append(y)
        n_rows += X.shape[0]
        if X.nnz:
            ind = X.indices
            lo, hi = int(ind.min()), int(ind.max())
            raw_min = lo if raw_min is None else min(raw_min, lo)
            raw_max = max(raw_max, hi)
            if hi >= counts.shape[0]:
                grown = np.zeros(max(2 * counts.shape[0], hi + 1), dtype=np.int64)
                grown[:counts.shape[0]] = counts
                counts = grown
            _count_columns(ind, counts)  # O(chunk); a bincount would be O(n_features)
            nnz += X.nnz
    y = np.concatenate(labels) if labels else np.zeros(0)
    return n_rows, nnz, raw_min, raw_max, counts, y


def convert_svmlight(src, dst, *, n_features=None, dtype=np.float64, index_dtype=None,
                     zero_based="auto", chunk_lines=10_000, overwrite=False):
    """Convert an svmlight / libsvm text file to a dataset directory, streaming.

    The matrix is never held in memory, neither dense nor as COO: a first pass over the
    file counts the entries of every column (and reads the labels, n floats), the CSC
    arrays are preallocated as memory-mapped ``.npy`` files, and a second pass scatters
    each chunk of rows into its columns at per-column cursors. Memory is O(n_features +
    n_samples + chunk), not O(non-zeros): each chunk is written column group by column
    group, and the pages of a group are released from the process's resident memory
    once written (see :func:`release_pages`), so at most one group of the output
    (about 1M entries) is resident at a time.

    Each chunk of lines is parsed by scikit-learn's svmlight parser
    (:func:`sklearn.datasets.load_svmlight_file`), so the accepted syntax (comments, ``qid``
    fields, blank lines) and the errors are scikit-learn's. The result equals
    ``load_svmlight_file(src, n_features=..., dtype=..., zero_based=...)`` converted to
    CSC, stored entries with value 0 included.

    Parameters
    ----------
    src : str or path-like
        Text file in svmlight / libsvm format; ``.gz`` and ``.bz2`` are decompressed on
        the fly (by file name, as scikit-learn does). Read twice.
    dst : str or path-like
        Dataset directory to create (atomically, as :func:`save_csc`).
    n_features : int, default=None
        Number of columns. None infers it from the largest index in the file, which
        drops trailing empty columns; pass it to get a fixed shape.
    dtype : {np.float64, np.float32}, default=np.float64
        Value dtype of the matrix (values are parsed as by scikit-learn with this dtype).
    index_dtype : {None, np.int32, np.int64}, default=None
        Dtype of ``indices`` and ``indptr``. None picks int32 when the number of stored
        entries, rows and columns all fit in it, else int64.
    zero_based : {"auto", True, False}, default="auto"
        Whether the column indices in the file start at 0 or 1. "auto" means one-based
        unless some index is 0, decided over the whole file (scikit-learn decides per
        file in the same way).
    chunk_lines : int, default=10_000
        Lines parsed at once (a chunk is also cut at 4 MiB of text). Peak memory is
        about 100 bytes per entry of the chunk, plus 16 bytes per column and 8 per row,
        plus one column group of the output (1M entries).
    overwrite : bool, default=False
        Replace an existing dataset directory at ``dst``.

    Returns
    -------
    meta : dict
        The contents of the ``meta.json`` written (shape, nnz, dtypes).

    Raises
    ------
    ValueError
        On a parse error (with the line range of the chunk), duplicate or unsorted
        feature indices within a row (rejected, as scikit-learn does), NaN or infinite
        values or labels, an index beyond ``n_features``, an empty file, or a file that
        changed between the two passes.
    FileExistsError
        If ``dst`` exists and may not be replaced.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastsparse.io import convert_svmlight, load_csc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     src = os.path.join(tmp, "a.svm")
    ...     with open(src, "w") as f:
    ...         _ = f.write("1 1:0.5 3:2\\n-1 2:1\\n")
    ...     meta = convert_svmlight(src, os.path.join(tmp, "a"))
    ...     X, y = load_csc(os.path.join(tmp, "a"))
    ...     print(meta["shape"], X.toarray().tolist(), y.tolist())
    ...     del X, y
    [2, 3] [[0.5, 0.0, 2.0], [0.0, 1.0, 0.0]] [1.0, -1.0]
    """
    dtype = np.dtype(dtype)
    if dtype.type not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
    if index_dtype is not None:
        index_dtype = np.dtype(index_dtype)
        if index_dtype.type not in (np.int32, np.int64):
            raise ValueError(f"index_dtype must be int32 or int64, got {index_dtype}.")
    if zero_based not in ("auto", True, False):
        raise ValueError(f"zero_based must be 'auto', True or False, got {zero_based!r}.")
    if n_features is not None:
        if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) \
                or n_features < 1:
            raise ValueError(f"n_features must be a positive integer, got {n_features!r}.")
        n_features = int(n_features)
    if isinstance(chunk_lines, bool) or not isinstance(chunk_lines, (int, np.integer)) \
            or chunk_lines < 1:
        raise ValueError(f"chunk_lines must be a positive integer, got {chunk_lines!r}.")
    if not os.path.isfile(src):
        raise FileNotFoundError(f"{src} does not exist or is not a file.")
    dst = Path(dst)
    _check_target(dst, overwrite)

    n, nnz, raw_min, raw_max, raw_counts, y = _first_pass(src, dtype, int(chunk_lines))
    if n == 0:
        raise ValueError(f"{src} holds no data rows.")
    if zero_based == "auto":
        one_based = raw_min is not None and raw_min > 0
    else:
        one_based = not zero_based
        if one_based and raw_min == 0:
            raise ValueError(f"{src}: index 0 in a file read with zero_based=False.")
    shift = 1 if one_based else 0
    p_file = raw_max + 1 - shift if nnz else 0
    if n_features is None:
        p = max(p_file, 1)
    elif n_features < p_file:
        raise ValueError(f"n_features was set to {n_features}, but {src} contains "
                         f"{p_file} features.")
    else:
        p = n_features
    counts = np.zeros(p, dtype=np.int64)
    used = raw_counts[shift:shift + p]
    counts[:used.shape[0]] = used
    del raw_counts, used
    fits32 = max(nnz, n, p) <= _INT32_MAX
    if index_dtype is None:
        index_dtype = np.dtype(np.int32 if fits32 else np.int64)
    elif index_dtype.type is np.int32 and not fits32:
        raise ValueError(f"index_dtype int32 cannot hold nnz = {nnz} (or the shape "
                         f"{(n, p)}); use int64.")

    ends = np.cumsum(counts)  # end of each column's slots (indptr[1:])
    cursor = ends - counts  # next free slot of each column
    del counts
    open_memmap = np.lib.format.open_memmap
    with _atomic_directory(dst, overwrite) as tmp:
        indptr = open_memmap(tmp / "indptr.npy", mode="w+", dtype=index_dtype,
                             shape=(p + 1,))
        indptr[0] = 0
        indptr[1:] = ends
        indptr.flush()
        del indptr
        data = open_memmap(tmp / "data.npy", mode="w+", dtype=dtype, shape=(nnz,))
        indices = open_memmap(tmp / "indices.npy", mode="w+", dtype=index_dtype,
                              shape=(nnz,))
        # Column groups of about _SCATTER_BLOCK_NNZ entries: each group's slots form one
        # contiguous region of data/indices, released from the RSS once the chunk's
        # entries of that group are written. Without this a single chunk, whose rows
        # reach nearly every column, would map the whole output into the RSS.
        groups = column_blocks(np.concatenate(([0], ends)), None, _SCATTER_BLOCK_NNZ)
        group_first = np.array([g[0] for g in groups], dtype=np.int64)
        bounds = np.empty(len(groups) + 1, dtype=np.int64)
        row0 = 0
        for first, text in _iter_chunks(src, int(chunk_lines)):
            Xc, _ = _parse_chunk(src, first, text, p, dtype, not one_based)
            m = Xc.shape[0]
            if row0 + m > n:
                raise ValueError(f"{src} changed between the two passes of the conversion.")
            if Xc.nnz:
                c = Xc.nnz
                vals, cols = np.empty(c, dtype=dtype), np.empty(c, dtype=np.int32)
                rows = np.empty(c, dtype=index_dtype)
                _sort_chunk_by_group(Xc.data, Xc.indices, Xc.indptr, np.int64(row0),
                                     group_first, vals, cols, rows, bounds)
                del Xc
                for g, (j0, j1) in enumerate(groups):
                    lo, hi = int(bounds[g]), int(bounds[g + 1])
                    if lo == hi:
                        continue
                    if not _scatter_entries(lo, hi, vals, cols, rows, cursor, ends, data,
                                            indices):
                        raise ValueError(f"{src} changed between the two passes of the "
                                         "conversion.")
                    start, stop = int(ends[j0 - 1]) if j0 else 0, int(ends[j1 - 1])
                    for arr in (data, indices):
                        _advise_dontneed(arr, start * arr.itemsize, stop * arr.itemsize)
                del vals, cols, rows
            row0 += m
        if row0 != n or not np.array_equal(cursor, ends):
            raise ValueError(f"{src} changed between the two passes of the conversion.")
        data.flush()
        indices.flush()
        del data, indices
        _write_npy(tmp / "y.npy", y)
        meta = _write_meta(tmp, (n, p), nnz,
                           {"data": dtype, "indices": index_dtype, "indptr": index_dtype,
                            "y": y.dtype}, True)
    return meta


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def _zero_based_arg(value):
    table = {"auto": "auto", "true": True, "1": True, "false": False, "0": False}
    try:
        return table[value.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError("expected auto, true or false") from None


def add_convert_arguments(conv):
    """Add the options of the ``convert`` command to an argparse (sub)parser.

    Shared by ``python -m fastsparse.io convert`` and ``fastsparse convert``.
    """
    conv.add_argument("src", help="svmlight/libsvm text file (.gz and .bz2 decompressed)")
    conv.add_argument("dst", help="dataset directory to create")
    conv.add_argument("--n-features", type=int, default=None, metavar="P",
                      help="number of columns (default: largest index in the file)")
    conv.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    conv.add_argument("--index-dtype", choices=["int32", "int64"], default=None,
                      help="default: int32 when it fits")
    conv.add_argument("--zero-based", type=_zero_based_arg, default="auto",
                      metavar="{auto,true,false}", help="column indices start at 0 "
                      "(default: auto, one-based unless an index is 0)")
    conv.add_argument("--chunk-lines", type=int, default=10_000,
                      help="lines parsed at once (default: 10000)")
    conv.add_argument("--overwrite", action="store_true",
                      help="replace an existing dataset directory")


def run_convert(args):
    """Run the ``convert`` command parsed by :func:`add_convert_arguments`.

    Returns the metadata of the written directory; raises OSError / ValueError /
    TypeError on bad input (the callers turn them into one-line messages).
    """
    meta = convert_svmlight(
        args.src, args.dst, n_features=args.n_features, dtype=args.dtype,
        index_dtype=args.index_dtype, zero_based=args.zero_based,
        chunk_lines=args.chunk_lines, overwrite=args.overwrite)
    n, p = meta["shape"]
    print(f"wrote {args.dst}: {n} x {p}, {meta['nnz']} stored entries, "
          f"data {np.dtype(meta['dtypes']['data'])}, "
          f"indices {np.dtype(meta['dtypes']['indices'])}")
    return meta


_CONVERT_HELP = "convert an svmlight/libsvm file (.gz/.bz2 too) to a CSC directory"
_CONVERT_DESCRIPTION = ("Stream an svmlight/libsvm file into a directory that "
                        "fastsparse.io.load_csc memory-maps (two passes, bounded memory).")


def main(argv=None):
    """Command-line entry: ``python -m fastsparse.io convert SRC DST [options]``.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 on an error reported on stderr (argparse usage errors exit
        with 2).
    """
    parser = argparse.ArgumentParser(
        prog="python -m fastsparse.io",
        description="Out-of-core data for fastsparse: memory-mappable CSC directories.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_convert_arguments(sub.add_parser("convert", help=_CONVERT_HELP,
                                         description=_CONVERT_DESCRIPTION))
    args = parser.parse_args(argv)
    try:
        run_convert(args)
    except (OSError, ValueError, TypeError) as exc:
        print(f"{parser.prog} convert: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
