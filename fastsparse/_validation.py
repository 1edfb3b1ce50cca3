"""Input validation: turn user input into checked arrays the jitted kernels can trust.

Numba does no bounds checking, so everything a kernel indexes with is checked here first:
CSC structure (``indptr`` monotone and consistent with ``nnz``, ``indices`` in range), finite
values, shapes, weights and parameter ranges. Every failure is a ``ValueError`` or
``TypeError`` whose message names the problem.

Copies are avoided wherever the input allows: a CSC matrix in canonical format (sorted
indices, no duplicates) with a supported dtype is used as it is, read-only arrays included.
Anything else is converted exactly once, and the caller's arrays are never written to.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array

from ._mmap_passes import check_mapped_csc, is_mapped

SUPPORTED_DTYPES = (np.float64, np.float32)
SUPPORTED_INDEX_DTYPES = (np.int32, np.int64)


def check_csc(X, *, dtype=SUPPORTED_DTYPES, name="X"):
    """Validate a design matrix and return it as a canonical CSC matrix.

    Parameters
    ----------
    X : {array-like, sparse matrix, sparse array} of shape (n_samples, n_features)
        Input data. CSC input in canonical format with float32/float64 values is returned
        without any copy; CSR, COO, other sparse formats and dense arrays are converted once.
    dtype : dtype or tuple of dtypes, default=(np.float64, np.float32)
        Accepted value dtypes. Float32 input stays float32; other dtypes are converted to
        the first entry.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    X : scipy.sparse.csc_matrix or csc_array
        Canonical CSC matrix (sorted indices, no duplicate entries, no explicit check
        failures) with int32 or int64 index arrays.

    Notes
    -----
    A memory-mapped CSC matrix (e.g. from :func:`fastsparse.io.load_csc`) is checked
    one column block at a time, with the same errors, releasing the pages read
    (:func:`fastsparse._mmap_passes.check_mapped_csc`): a full check would otherwise
    leave the whole file in the resident memory of the process.

    Raises
    ------
    ValueError
        If X is empty, has non-finite values, or its CSC structure is malformed.
    TypeError
        If X is not numeric.
    """
    if sp.issparse(X) and X.format == "csc" and is_mapped(X):
        # Memory-mapped: the same checks column block by column block, releasing the
        # pages read (None: unusual input that the general path below handles).
        checked = check_mapped_csc(X, dtype, name)
        if checked is not None:
            return checked
    if sp.issparse(X):
        # scipy's compiled conversions trust the index arrays: check them first.
        if X.format == "bsr":
            _check_bsr_structure(X, name)
        elif X.format == "lil":
            _check_lil_structure(X, name)
            X = X.tocsr()  # sized by the row lists, now consistent; indices checked next
        elif X.format not in ("csc", "csr", "coo"):
            X = X.tocoo()  # dok, dia: numpy/Python conversions; coordinates checked next
        if X.format in ("csc", "csr"):
            X = _check_compressed_structure(X, name)
        elif X.format == "coo":
            _check_coo_structure(X, name)
        if X.format != "csc":
            X = X.tocsc()  # the one conversion; tocsc() sums duplicates and sorts
    X = check_array(
        X,
        accept_sparse="csc",
        dtype=list(dtype) if isinstance(dtype, tuple) else dtype,
        accept_large_sparse=True,
        input_name=name,
        ensure_2d=True,
    )
    if sp.issparse(X):
        if not X.has_canonical_format:
            # Duplicates or unsorted indices: canonicalise a copy, never the caller's arrays.
            X = X.copy()
            X.sum_duplicates()
    else:
        X = sp.csc_matrix(X)
    if X.indices.dtype != X.indptr.dtype:
        # The kernels take one index dtype; promote the narrower array (a copy of indptr
        # or indices only, never of the data).
        idx = np.result_type(X.indices.dtype, X.indptr.dtype)
        X = _with_arrays(X, X.data, X.indices.astype(idx, copy=False),
                         X.indptr.astype(idx, copy=False))
    return X


def check_sparse_structure(X, name="X"):
    """Check the index arrays of a sparse X that only scipy reads (predict, transform).

    scipy's compiled products and conversions trust ``indices`` and ``indptr``: a
    malformed matrix passed to ``predict`` was read out of bounds (a segfault, or
    silently wrong predictions). Runs the structure checks of :func:`check_csc` without
    converting anything; returns X (a CSC/CSR matrix possibly trimmed to ``nnz``, as
    :func:`check_csc` does). Dense input is returned unchanged.
    """
    if not sp.issparse(X):
        return X
    if X.format == "bsr":
        _check_bsr_structure(X, name)
    elif X.format == "lil":
        _check_lil_structure(X, name)
    elif X.format in ("csc", "csr"):
        X = _check_compressed_structure(X, name)
    elif X.format == "coo":
        _check_coo_structure(X, name)
    return X


def _with_arrays(X, data, indices, indptr):
    """Build a CSC container of X's type from arrays, without copying or re-checking them."""
    # An empty container with the arrays set afterwards: constructing from the arrays
    # would make scipy scan int64 index arrays and downcast them to int32 copies when
    # their values fit (O(nnz) time and memory, e.g. on a memory-mapped matrix).
    out = X.__class__(X.shape, dtype=data.dtype)
    out.data, out.indices, out.indptr = data, indices, indptr
    return out


def _check_coo_structure(X, name):
    """Check COO coordinates before scipy's compiled conversion reads them."""
    n_rows, n_cols = X.shape
    row, col = X.coords if hasattr(X, "coords") else (X.row, X.col)
    if row.ndim != 1 or col.ndim != 1 or X.data.ndim != 1:
        raise ValueError(f"{name} is malformed: row, col and data must be 1-D.")
    if row.shape != col.shape or row.shape[0] != X.data.shape[0]:
        raise ValueError(f"{name} is malformed: row, col and data lengths differ.")
    if row.size and (row.min() < 0 or row.max() >= n_rows):
        raise ValueError(f"{name} is malformed: row index out of range [0, {n_rows}).")
    if col.size and (col.min() < 0 or col.max() >= n_cols):
        raise ValueError(f"{name} is malformed: column index out of range [0, {n_cols}).")


def _check_compressed_structure(X, name):
    """Check raw CSC/CSR arrays so that neither scipy nor a kernel reads out of bounds.

    Returns X, or a view of it trimmed to ``nnz`` with supported index dtypes.
    """
    n_major, n_minor = X.shape[::-1] if X.format == "csc" else X.shape
    major, minor = ("columns", "row") if X.format == "csc" else ("rows", "column")
    data, indices, indptr = X.data, X.indices, X.indptr
    if data.ndim != 1:
        # A 2-D data array would reach the kernels (a Numba typing error, not a message).
        raise ValueError(f"{name} is malformed: data has shape {data.shape}, expected 1-D.")
    nnz = _check_pointers(indices, indptr, data.shape[0], n_major, n_minor, major, minor,
                          name)
    if indices.shape[0] != nnz or data.shape[0] != nnz:
        # Trailing storage beyond nnz: view only the used part (no copy).
        X = _with_arrays(X, data[:nnz], indices[:nnz], indptr)
    if indices.dtype.type not in SUPPORTED_INDEX_DTYPES or (
        indptr.dtype.type not in SUPPORTED_INDEX_DTYPES
    ) or not (indices.dtype.isnative and indptr.dtype.isnative):
        # Also byte-swapped int32/int64 (e.g. ">i4" arrays assigned to X.indices): their
        # dtype.type is np.int32, but Numba rejects non-native byte order with a typing
        # error instead of a message.
        idx = np.int64
        X = _with_arrays(X, X.data, X.indices.astype(idx, copy=False),
                         indptr.astype(idx, copy=False))
    return X


def _check_pointers(indices, indptr, n_data, n_major, n_minor, major, minor, name):
    """Check compressed index arrays (CSC, CSR, BSR blocks); return the number stored."""
    if indices.ndim != 1:
        raise ValueError(
            f"{name} is malformed: indices has shape {indices.shape}, expected 1-D."
        )
    if indptr.ndim != 1 or indptr.shape[0] != n_major + 1:
        raise ValueError(
            f"{name} is malformed: indptr has shape {indptr.shape}, expected "
            f"({n_major + 1},) for {n_major} {major}."
        )
    if indices.dtype.type not in SUPPORTED_INDEX_DTYPES:
        if not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"{name}.indices must be integer, got {indices.dtype}.")
    if not np.issubdtype(indptr.dtype, np.integer):
        raise TypeError(f"{name}.indptr must be integer, got {indptr.dtype}.")
    if indptr[0] != 0:
        raise ValueError(f"{name} is malformed: indptr[0] is {indptr[0]}, expected 0.")
    nnz = indptr[-1]
    if nnz > indices.shape[0] or nnz > n_data:
        raise ValueError(
            f"{name} is malformed: indptr[-1] = {nnz} exceeds the length of indices "
            f"({indices.shape[0]}) or data ({n_data})."
        )
    if n_major > 0 and np.any(indptr[1:] < indptr[:-1]):
        raise ValueError(f"{name} is malformed: indptr is not non-decreasing.")
    if nnz > 0:
        used = indices[:nnz]
        lo, hi = used.min(), used.max()
        if lo < 0 or hi >= n_minor:
            raise ValueError(
                f"{name} is malformed: {minor} indices must lie in [0, {n_minor}), "
                f"found values in [{lo}, {hi}]."
            )
    return nnz


def _check_bsr_structure(X, name):
    """Check BSR block arrays: scipy's compiled BSR conversion trusts them (a segfault)."""
    (n_rows, n_cols), (R, C) = X.shape, X.blocksize
    if X.data.ndim != 3 or X.data.shape[1:] != (R, C):
        raise ValueError(
            f"{name} is malformed: BSR data has shape {X.data.shape}, expected "
            f"(n_blocks, {R}, {C})."
        )
    if R <= 0 or C <= 0 or n_rows % R or n_cols % C:
        raise ValueError(f"{name} is malformed: blocksize {(R, C)} does not divide the "
                         f"shape {X.shape}.")
    _check_pointers(X.indices, X.indptr, X.data.shape[0], n_rows // R, n_cols // C,
                    "block rows", "block column", name)


def _check_lil_structure(X, name):
    """Check that LIL rows and values match: scipy's conversion is sized by the rows."""
    rows, vals = X.rows, X.data
    if rows.shape != (X.shape[0],) or vals.shape != (X.shape[0],):
        raise ValueError(f"{name} is malformed: LIL rows and data need one list per row.")
    for i in range(X.shape[0]):
        if len(rows[i]) != len(vals[i]):
            raise ValueError(
                f"{name} is malformed: LIL row {i} has {len(rows[i])} column indices but "
                f"{len(vals[i])} values."
            )


def check_target(y, n_samples, *, dtype=np.float64, name="y"):
    """Validate a regression target: 1-D, finite, of length n_samples.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Target values.
    n_samples : int
        Number of rows of the design matrix.
    dtype : dtype, default=np.float64
        Dtype of the returned array.
    name : str, default="y"
        Name used in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)
    """
    if y is None:
        # check_array would turn None into the 0-d array nan: "Input y contains NaN".
        raise ValueError(f"{name} is None; a target of shape (n_samples,) is required.")
    y = check_array(y, ensure_2d=False, dtype=dtype, input_name=name)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {y.shape[0]} entries but X has {n_samples} rows."
        )
    return y


def check_sample_weight(sample_weight, n_samples):
    """Validate sample weights and rescale them to sum to n_samples.

    The rescaling is the one scikit-learn applies in ``ElasticNet.fit``, so that ``alpha``
    means the same in both libraries.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        Non-negative, finite weights, not all zero. None means all ones.
    n_samples : int
        Number of rows of the design matrix.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
        Float64 weights summing to n_samples, or None for unit weights.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Real):
        return None  # a constant weight is rescaled to all ones
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be numeric, got dtype {sw.dtype}.")
    sw = sw.astype(np.float64)  # always a new array: we rescale it below
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {sw.shape}."
        )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative.")
    top = sw.max() if sw.size else 0.0
    if top <= 0:
        raise ValueError("sample_weight must not be all zero.")
    # Divide by the largest weight before summing: the sum of huge weights (1e308 each)
    # overflowed to inf and n / (sum of subnormal ones) to inf, which turned every weight
    # into 0 or inf (all-zero or NaN coefficients, or a ZeroDivisionError later).
    sw /= top
    sw *= n_samples / sw.sum()
    return sw


def check_penalty_factor(penalty_factor, n_features):
    """Validate per-feature penalty factors.

    Parameters
    ----------
    penalty_factor : array-like of shape (n_features,) or None
        Finite, non-negative multipliers of the penalty of each feature (glmnet's
        ``penalty.factor``); 0 leaves a feature unpenalized. None means all ones.
    n_features : int
        Number of columns of the design matrix.

    Returns
    -------
    penalty_factor : ndarray of shape (n_features,)
        Float64 copy of the factors.
    """
    if penalty_factor is None:
        return np.ones(n_features)
    v = np.asarray(penalty_factor)
    if v.dtype.kind not in "biuf":
        raise TypeError(f"penalty_factor must be numeric, got dtype {v.dtype}.")
    v = np.array(v, dtype=np.float64)
    if v.ndim != 1 or v.shape[0] != n_features:
        raise ValueError(
            f"penalty_factor must have shape ({n_features},), got {v.shape}."
        )
    if not np.all(np.isfinite(v)):
        raise ValueError("penalty_factor contains NaN or infinity.")
    if np.any(v < 0):
        raise ValueError("penalty_factor must be non-negative.")
    return v


def check_bool_param(value, name):
    """Check that a flag is a bool (or numpy.bool_); returns it as a bool.

    Applied to every boolean flag of the public estimators and functions, at fit time.
    Flags passed on to the jitted kernels as they are (``fit_intercept``) must be: a
    string or None there was a Numba typing error, not a message. Elsewhere a string
    is truthy even when it says ``"no"`` (``positive="no"`` enabled the constraint) and
    None falsy, silently; an int (1, 0) is rejected too, as scikit-learn's "boolean"
    parameter constraint does.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


def check_option(value, name, options):
    """Check that a string parameter is one of ``options`` (a tuple); returns it.

    The error names the parameter and lists the options, e.g. ``on_interrupt must be
    'raise' or 'return', got 'stop'.``
    """
    if not isinstance(value, str) or value not in options:
        choices = ", ".join(repr(o) for o in options[:-1]) + f" or {options[-1]!r}"
        raise ValueError(f"{name} must be {choices}, got {value!r}.")
    return value


def check_tol_scale(tol_scale):
    """Check the ``tol_scale`` option of the solvers: "null_deviance" or "objective"."""
    return check_option(tol_scale, "tol_scale", ("null_deviance", "objective"))


def check_folds(folds, n_samples):
    """Validate cross-validation splits; returns them as (train, test) index arrays.

    ``folds`` is what ``cv.split`` produced, from a scikit-learn splitter or a user's
    own iterable of (train, test) pairs. Each side may be integer indices or a boolean
    mask of length n_samples. Hand-made splits were trusted: a negative index wrapped
    around to the last rows silently, an empty test fold failed with "attempt to get
    argmax of an empty sequence", and float indices worked in one estimator and raised
    an IndexError in another.

    Raises
    ------
    ValueError
        No folds, a fold with an empty side, an index outside [0, n_samples), a mask of
        the wrong length or non-integer indices.
    """
    out = []
    for k, fold in enumerate(folds):
        try:
            train, test = fold
        except (TypeError, ValueError):
            raise ValueError(f"cv fold {k} must be a (train, test) pair of index arrays."
                             ) from None
        pair = []
        for side, idx in (("train", train), ("test", test)):
            idx = np.asarray(idx)
            if idx.dtype == bool:
                if idx.shape != (n_samples,):
                    raise ValueError(f"cv fold {k}: the boolean {side} mask has shape "
                                     f"{idx.shape}, expected ({n_samples},).")
                idx = np.flatnonzero(idx)
            if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
                raise ValueError(f"cv fold {k}: {side} must be a 1-D array of integer row "
                                 f"indices or a boolean mask, got dtype {idx.dtype} and "
                                 f"shape {idx.shape}.")
            if idx.size == 0:
                raise ValueError(f"cv fold {k} has an empty {side} set.")
            if idx.min() < 0 or idx.max() >= n_samples:
                raise ValueError(f"cv fold {k}: {side} indices must be in [0, "
                                 f"{n_samples}), got {int(idx.min())}..{int(idx.max())}.")
            pair.append(idx.astype(np.intp, copy=False))
        out.append(tuple(pair))
    if not out:
        raise ValueError("cv produced no folds.")
    return out


def check_scalar_param(value, name, *, low=None, high=None, integer=False):
    """Check that a scalar parameter is a real (or integer) number within [low, high]."""
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {what}, got {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}.")
    return value


def check_column_norms(data, indices, indptr, sqnorm, sample_weight=None, name="X"):
    """Raise when the squared norm of a column overflowed or underflowed in float64.

    ``sqnorm`` are the squared column norms a solver has just computed (centered with an
    intercept, weighted with sample weights; float32 rounded up for the screening norms
    of the elastic-net and logistic solvers, float64 for ridge). Values of X beyond
    about 1.3e154 in magnitude square to inf (with an intercept the centered norm is
    then inf - inf = NaN) and values below about 1.5e-162 square to 0, so such a column
    was silently taken for an all-zero one (all-zero coefficients) or poisoned the fit
    with NaN.

    Only the columns whose ``sqnorm`` is 0, NaN or inf are examined, from their stored
    entries: their *uncentered* squared norm (unweighted, and weighted when
    ``sample_weight`` is given) is recomputed in float64. A column is rejected when that
    norm is not finite, or when it is 0 although a stored entry is non-zero. A centered
    norm of 0 for a constant column, a column of explicit zeros or one stored only in
    rows of weight 0 (a cross-validation fold) is legitimate and passes, as does a
    finite norm too large for float32 (inf in a float32 ``sqnorm``). O(p) on ``sqnorm``,
    plus O(stored entries of the examined columns), which are few on ordinary data.

    Raises
    ------
    ValueError
        "X has values too large: the squared norm of column j overflows float64 ..." or
        "X has values too small: the squared norm of column j underflows to 0 in
        float64 ...".
    """
    sq = np.asarray(sqnorm)
    suspect = np.flatnonzero(~(sq > 0) | np.isinf(sq))  # 0, NaN (not > 0) or inf
    if suspect.size == 0:
        return
    starts = np.asarray(indptr[suspect], dtype=np.int64)
    counts = np.asarray(indptr[suspect + 1], dtype=np.int64) - starts
    stored = counts > 0
    cols, starts, counts = suspect[stored], starts[stored], counts[stored]
    if cols.size == 0:
        return  # all-zero columns: nothing stored, nothing to lose
    # The positions of the examined columns' entries in data, without a Python loop.
    offsets = np.zeros(cols.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    pos = np.repeat(starts - offsets, counts) + np.arange(offsets[-1] + counts[-1])
    vals = np.asarray(data[pos], dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        squares = vals * vals
        norm = np.add.reduceat(squares, offsets)
        too_large = ~np.isfinite(norm)
        if sample_weight is not None:
            # The weights sum to n: up to n times the unweighted norm.
            wsq = squares * sample_weight[indices[pos]]
            too_large |= ~np.isfinite(np.add.reduceat(wsq, offsets))
    # Underflow from the unweighted norm: a weighted norm is also 0 for a column stored
    # only in rows of weight 0, legitimately.
    has_value = np.add.reduceat((vals != 0).astype(np.int64), offsets) > 0
    too_small = (norm == 0) & has_value
    for bad, what, how in ((too_large, "large", "overflows float64"),
                           (too_small, "small", "underflows to 0 in float64")):
        if bad.any():
            first = np.flatnonzero(bad)
            others = (f" (and {first.size - 1} other column"
                      f"{'s' if first.size > 2 else ''})" if first.size > 1 else "")
            j = int(cols[first[0]])
            k = slice(int(starts[first[0]]), int(starts[first[0]] + counts[first[0]]))
            top = float(np.max(np.abs(np.asarray(data[k], dtype=np.float64))))
            raise ValueError(
                f"{name} has values too {what}: the squared norm of column {j}{others} "
                f"{how} (largest magnitude {top:.3e}); rescale {name} (e.g. divide each "
                "column by its largest absolute value).")
