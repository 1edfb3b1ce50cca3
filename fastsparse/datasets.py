"""Text-like sparse datasets: deterministic generators, file loaders and a disk cache.

The solvers of :mod:`fastsparse` are meant for the matrices bag-of-words pipelines produce:
very wide, very sparse, with column frequencies that follow a power law (a handful of
near-dense "stop-word" columns, a long tail of columns seen in one or two documents), and
rows that are tf-idf weighted and L2-normalised. The public benchmark sets with that
structure (rcv1, news20, E2006-log1p "finance", url) must be downloaded; this module instead
*generates* matrices with the same shapes and similar statistics, so that tests, examples and
benchmarks run offline and reproducibly. Nothing here downloads anything.

Generation model
----------------
1. Each row is a document. Its number of distinct terms is drawn from a log-normal law and
   rescaled so that the total matches the requested number of non-zeros.
2. Tokens are drawn independently from a truncated power law over *feature ranks* (rank 0 is
   the most frequent term). A row draws as many tokens as needed for the *expected* number
   of distinct ranks to equal its target length; the expected-distinct curve is computed
   once and inverted numerically.
3. Repeated tokens of a row are merged into term counts. An entry's value is
   ``(1 + log(count)) * idf`` with the smoothed ``idf = log((1 + n) / (1 + df)) + 1``, then
   every row is scaled to unit L2 norm, as ``TfidfVectorizer(sublinear_tf=True)`` does.
4. Ranks are mapped to columns through a random permutation (like a vocabulary sorted
   alphabetically rather than by frequency), unless ``shuffle_features=False``.
5. A sparse ground truth ``w_true`` is placed on moderately frequent columns and the target
   is computed from ``X @ w_true`` plus Gaussian noise.

Every step draws from a single ``numpy.random.Generator``, so a call is a pure function of
its arguments: the same arguments give bit-identical arrays. Changing the algorithm in a
way that changes the output must come with a bump of :data:`GENERATOR_VERSION`, which is
part of the cache key of :func:`fetch_preset`.
"""

import errno
import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._validation import check_bool_param

__all__ = [
    "GENERATOR_VERSION",
    "PRESETS",
    "DatasetPreset",
    "fetch_preset",
    "get_cache_dir",
    "load_npz",
    "load_svmlight",
    "make_preset",
    "make_sparse_data",
]

#: Version of the generation algorithm. Bump it whenever :func:`make_sparse_data` would
#: return different arrays for the same arguments, so stale cache entries are not reused.
GENERATOR_VERSION = 1

_TASKS = ("regression", "classification")
_INT32_MAX = np.iinfo(np.int32).max

# Spread of log(document length). 0.8 gives the right-skewed lengths of real corpora:
# most rows near the mean, a few several times longer.
_ROW_LENGTH_SIGMA = 0.8
# A row may use at most this fraction of the columns. Beyond it the token draw would need
# enormous numbers of tokens to reach the rare columns, and the data is no longer text-like.
_MAX_ROW_FILL = 0.5
# Tokens drawn per chunk. Bounds the temporary memory (about 40 bytes per token) while
# keeping chunks large enough for vectorised sorting to be efficient.
_CHUNK_TOKENS = 1 << 21
# Resolution of the expected-distinct curve: geometric rank bins and token-count grid.
_N_CALIBRATION_EDGES = 2048
_N_CALIBRATION_GRID = 512
# Columns present in more than this fraction of rows behave like stop words; the ground
# truth avoids them, as well as the few most frequent columns in any case.
_STOPWORD_DF_FRACTION = 0.1
_MIN_HEAD_SKIP = 10
# The ground-truth support is drawn among this many times n_informative candidate columns.
_POOL_FACTOR = 10


@dataclass(frozen=True)
class DatasetPreset:
    """Shape, size and default task of a named synthetic dataset.

    Parameters
    ----------
    name : str
        Key of the preset in :data:`PRESETS`.
    n_samples : int
        Number of rows.
    n_features : int
        Number of columns.
    nnz : int
        Requested number of stored non-zeros; the generated matrix lands close to it.
    task : {"regression", "classification"}
        Default task, matching how the real dataset is usually used.
    description : str
        One line on what the preset mimics.
    """

    name: str
    n_samples: int
    n_features: int
    nnz: int
    task: str
    description: str


#: Named dataset shapes. The large ones copy the size of the libsvm benchmark sets.
PRESETS = {
    preset.name: preset
    for preset in (
        DatasetPreset(
            "small", 500, 2_000, 10_000, "regression",
            "Tiny matrix for unit tests and doctests (milliseconds to generate).",
        ),
        DatasetPreset(
            "medium", 5_000, 50_000, 250_000, "regression",
            "Quick examples and smoke benchmarks (well under a second).",
        ),
        DatasetPreset(
            "rcv1", 20_242, 47_236, 1_498_952, "classification",
            "Shape of libsvm rcv1.binary (training part).",
        ),
        DatasetPreset(
            "news20", 19_996, 1_355_191, 9_097_916, "classification",
            "Shape of libsvm news20.binary: few rows, very many columns.",
        ),
        DatasetPreset(
            "finance", 16_087, 4_272_227, 19_971_015, "regression",
            "Shape of libsvm E2006-log1p (training part), a regression set.",
        ),
        DatasetPreset(
            "url", 2_396_130, 3_231_961, 277_058_644, "classification",
            "Shape of libsvm url_combined: 3.1 GiB in float64 and about 7 GiB at peak "
            "while generating (extrapolated); use a machine with 16 GiB or more. Not for tests.",
        ),
    )
}


# --------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------


def make_sparse_data(
    n_samples,
    n_features,
    density=None,
    nnz=None,
    *,
    zipf_exponent=1.1,
    n_informative=None,
    noise=0.1,
    task="regression",
    dtype=np.float64,
    index_dtype=np.int32,
    shuffle_features=True,
    random_state=0,
):
    """Generate a tf-idf-like sparse design matrix with a sparse linear ground truth.

    Parameters
    ----------
    n_samples : int
        Number of rows (documents).
    n_features : int
        Number of columns (terms).
    density : float, default=None
        Requested fraction of stored entries, in ``(0, 0.5]``. Give either ``density`` or
        ``nnz``; if neither is given, 1% of the entries are stored, and at least one per
        row.
    nnz : int, default=None
        Requested number of stored entries, between ``n_samples`` (every row non-empty) and
        ``0.5 * n_samples * n_features``. The result is within a few percent of it.
    zipf_exponent : float, default=1.1
        Exponent ``s >= 0`` of the power law ``P(rank r) ~ (r + 1) ** -s`` of token ranks.
        Around 1 for natural text; larger values concentrate the entries on fewer columns,
        0 makes all columns equally likely.
    n_informative : int, default=None
        Number of non-zero coefficients of ``w_true``. Defaults to
        ``min(100, max(1, n_features // 10))``.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to ``X @ w_true``, relative to the
        standard deviation of ``X @ w_true``.
    task : {"regression", "classification"}, default="regression"
        ``"regression"`` returns the noisy linear predictor; ``"classification"`` returns
        labels in {0, 1} obtained by thresholding it at its median (balanced classes; with
        ``noise=0`` the rows that miss the support of ``w_true`` tie at the median and all
        go to class 0).
    dtype : {np.float64, np.float32}, default=np.float64
        Value dtype of ``X``. ``y`` and ``w_true`` are float64 in all cases and do not
        depend on ``dtype``.
    index_dtype : {np.int32, np.int64}, default=np.int32
        Dtype of ``X.indices`` and ``X.indptr``. int32 is promoted to int64 when the number
        of entries or a dimension does not fit in int32.
    shuffle_features : bool, default=True
        Map frequency ranks to columns through a random permutation, as a vocabulary sorted
        alphabetically would. With False, column ``j`` is the ``j``-th most frequent in
        expectation, which is handy when debugging.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of ``numpy.random.default_rng``. Pass an int for reproducible output.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        Canonical CSC matrix (sorted row indices, no duplicates) with positive values and
        rows of unit L2 norm.
    y : ndarray of shape (n_samples,), dtype float64
        Regression target, or 0./1. labels for classification.
    w_true : ndarray of shape (n_features,), dtype float64
        Ground-truth coefficients, ``n_informative`` of them non-zero with random signs and
        magnitudes in [1, 3].

    Raises
    ------
    ValueError
        If a parameter is out of range, or both ``density`` and ``nnz`` are given.

    See Also
    --------
    make_preset : Generate a dataset with the shape of a standard benchmark set.
    fetch_preset : Same as ``make_preset``, cached on disk.

    Notes
    -----
    The model is described in the module docstring. Generation is vectorised and works on
    chunks of about two million tokens, so the peak memory of the arrays stays near twice
    the size of ``X``. The news20 preset (9 M non-zeros) takes about a second and finance
    (20 M non-zeros) a few seconds, on a single core.

    Rows must draw tokens until they reach enough distinct columns, so the cost grows with
    ``zipf_exponent``: about 2 tokens per stored entry at the default 1.1, but hundreds at
    2.5, where rare columns are extremely unlikely. Stay near 1 for large matrices.

    Column frequencies follow the power law: with the default exponent the most frequent
    columns are present in nearly every row, and many columns hold one entry or none. The
    ground truth avoids both ends: it is drawn among the most frequent columns once the
    stop-word-like ones (present in more than 10% of the rows, and at least the top 10)
    and the columns with fewer than two entries are excluded.

    Examples
    --------
    >>> from fastsparse.datasets import make_sparse_data
    >>> X, y, w_true = make_sparse_data(100, 500, nnz=2_000, random_state=0)
    >>> X.format, X.shape, y.shape
    ('csc', (100, 500), (100,))
    >>> int((w_true != 0).sum())
    50
    """
    nnz_target = _resolve_nnz(n_samples, n_features, density, nnz)
    n_informative = _resolve_n_informative(n_features, n_informative)
    _check_nonnegative(zipf_exponent, "zipf_exponent")
    _check_nonnegative(noise, "noise")
    _check_task(task)
    dtype = _check_float_dtype(dtype)
    index_dtype = _check_index_dtype(index_dtype)
    shuffle_features = check_bool_param(shuffle_features, "shuffle_features")
    rng = np.random.default_rng(random_state)

    row_targets = _draw_row_targets(rng, n_samples, nnz_target, _max_row_length(n_features))
    tokens = _tokens_for_targets(rng, row_targets, n_features, zipf_exponent)
    column_of_rank = _column_permutation(rng, n_features, shuffle_features)
    indptr, indices, counts = _sample_term_counts(
        rng, tokens, n_features, zipf_exponent, column_of_rank
    )
    del column_of_rank
    df = np.bincount(indices, minlength=n_features)
    data = _tfidf_values(counts, indices, indptr, df)
    del counts
    X_csr = sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_features))
    del data, indices, indptr  # owned by X_csr from here on

    w_true = _make_ground_truth(rng, df, n_samples, n_informative)
    y = _make_target(rng, X_csr @ w_true, noise, task)
    X = _csr_to_canonical_csc(X_csr, dtype, index_dtype)
    return X, y, w_true


def _resolve_nnz(n_samples, n_features, density, nnz):
    """Check the shape and turn ``density`` or ``nnz`` into a number of entries."""
    _check_positive_int(n_samples, "n_samples")
    _check_positive_int(n_features, "n_features")
    if density is not None and nnz is not None:
        raise ValueError("Give either density or nnz, not both.")
    if density is None and nnz is None:
        # 1% like a typical text matrix, but never fewer entries than rows
        return max(n_samples, round(0.01 * n_samples * n_features))
    if nnz is None:
        if not isinstance(density, Real) or not 0.0 < density <= _MAX_ROW_FILL:
            raise ValueError(f"density must be in (0, {_MAX_ROW_FILL}], got {density!r}.")
        nnz = round(density * n_samples * n_features)
    if not isinstance(nnz, Integral) or isinstance(nnz, bool):
        raise ValueError(f"nnz must be an integer, got {nnz!r}.")
    nnz_max = n_samples * _max_row_length(n_features)
    if not n_samples <= nnz <= nnz_max:
        raise ValueError(
            f"The requested {nnz} non-zeros must lie between n_samples={n_samples} (at least "
            f"one entry per row) and {int(nnz_max)} (at most {_MAX_ROW_FILL:.0%} of each row)."
        )
    return int(nnz)


def _max_row_length(n_features):
    """Largest number of distinct terms a row may hold."""
    return max(1.0, _MAX_ROW_FILL * n_features)


def _resolve_n_informative(n_features, n_informative):
    """Default and check the size of the ground-truth support."""
    if n_informative is None:
        return min(100, max(1, n_features // 10))
    if (
        not isinstance(n_informative, Integral)
        or isinstance(n_informative, bool)
        or not 0 <= n_informative <= n_features
    ):
        raise ValueError(
            f"n_informative must be an integer in [0, n_features={n_features}], "
            f"got {n_informative!r}."
        )
    return int(n_informative)


def _draw_row_targets(rng, n_samples, nnz_target, max_row):
    """Draw the target number of distinct terms of each row (log-normal, summing to nnz)."""
    raw = rng.lognormal(mean=0.0, sigma=_ROW_LENGTH_SIGMA, size=n_samples)
    # Find the scale c with sum(clip(c * raw, 1, max_row)) == nnz_target. The clipping makes
    # a plain rescaling miss the total, but the sum grows monotonically with c, from
    # n_samples (every row at 1) to n_samples * max_row, so bisection always converges.
    low, high = 0.0, max_row / raw.min()
    for _ in range(100):
        mid = 0.5 * (low + high)
        if np.clip(mid * raw, 1.0, max_row).sum() <= nnz_target:
            low = mid
        else:
            high = mid
    return np.clip(low * raw, 1.0, max_row)


def _tokens_for_targets(rng, targets, n_features, exponent):
    """Number of tokens each row must draw so that its expected distinct count hits target."""
    widths, probabilities = _calibration_bins(n_features, exponent)
    grid = _token_grid(widths, probabilities, targets.max())
    expected = _expected_distinct(grid, widths, probabilities)
    tokens = np.interp(targets, expected, grid)
    # Stochastic rounding: the expected total number of tokens is not biased downwards.
    tokens = np.floor(tokens + rng.random(tokens.size)).astype(np.int64)
    return np.maximum(tokens, 1)  # one token guarantees a non-empty row


def _calibration_bins(n_features, exponent):
    """Group the ranks into geometric bins for a cheap expected-distinct computation.

    Returns the bin widths and the mean token probability of a rank in each bin. The first
    bins hold a single rank each (they carry most of the mass); later ones widen
    geometrically by under 1%, so the probability barely varies inside a bin and averaging
    it costs no accuracy while reducing millions of ranks to about two thousand bins.
    """
    edges = np.geomspace(1, n_features + 1, _N_CALIBRATION_EDGES)
    edges = np.unique(np.round(edges).astype(np.int64))
    widths = np.diff(edges)
    mass = np.diff(_power_law_cdf(edges.astype(np.float64), n_features, exponent))
    return widths, mass / widths


def _expected_distinct(n_tokens, widths, probabilities):
    """Expected number of distinct ranks among ``n_tokens`` draws (vectorised over n_tokens).

    A rank of probability p is missed by all of L tokens with probability (1 - p) ** L.
    """
    # A single feature has probability 1: log1p(-1) = -inf correctly gives "never missed".
    with np.errstate(divide="ignore"):
        log_kept = np.log1p(-probabilities)
    missed = np.exp(np.multiply.outer(n_tokens, log_kept))
    return (1.0 - missed) @ widths


def _token_grid(widths, probabilities, max_target):
    """Geometric grid of token counts whose expected distinct counts cover ``max_target``."""
    high = max(2.0, max_target)
    # Rows of only a few columns need many draws to reach rare ranks; doubling finds a
    # large enough upper end in a few steps. The bound guards against a caller bug only.
    for _ in range(64):
        if _expected_distinct(np.array([high]), widths, probabilities)[0] >= max_target:
            break
        high *= 2.0
    return np.geomspace(1.0, high, _N_CALIBRATION_GRID)


def _power_law_cdf(x, n_features, exponent):
    """CDF of the density proportional to ``x ** -exponent`` on ``[1, n_features + 1)``.

    Rank ``r`` covers ``[r + 1, r + 2)``: this continuous law discretised is the Zipf-like
    distribution of the ranks, and it has an explicit inverse for fast sampling.
    """
    a = 1.0 - exponent
    log_end = np.log(n_features + 1.0)
    if a == 0.0:
        return np.log(x) / log_end
    # expm1 keeps precision when the exponent is close to 1 (a close to 0)
    return np.expm1(a * np.log(x)) / np.expm1(a * log_end)


def _ranks_from_uniform(u, n_features, exponent):
    """Map uniform draws to ranks by inverting :func:`_power_law_cdf`; overwrites ``u``."""
    a = 1.0 - exponent
    log_end = np.log(n_features + 1.0)
    # In-place ufuncs: the chunk's only float temporary is u itself.
    if a == 0.0:
        u *= log_end
    else:
        u *= np.expm1(a * log_end)
        np.log1p(u, out=u)
        u /= a
    np.exp(u, out=u)
    ranks = u.astype(np.int64)  # floor, the values being >= 1
    ranks -= 1
    # Rounding can land exactly on the upper end of the support
    np.clip(ranks, 0, n_features - 1, out=ranks)
    return ranks


def _column_permutation(rng, n_features, shuffle):
    """Column index of each frequency rank, in the smallest index dtype that fits."""
    index_type = np.int32 if n_features <= _INT32_MAX else np.int64
    if shuffle:
        return rng.permutation(n_features).astype(index_type)
    return np.arange(n_features, dtype=index_type)


def _sample_term_counts(rng, tokens, n_features, exponent, column_of_rank):
    """Draw every row's tokens and merge repeats, chunk by chunk, into CSR term counts.

    Returns ``indptr`` (int64), ``indices`` (column of each entry) and ``counts`` (int32);
    the columns of a row are unsorted when the features are shuffled.
    """
    n_samples = tokens.size
    row_nnz = np.empty(n_samples, dtype=np.int64)
    index_parts, count_parts = [], []
    # Chunks are sets of whole rows, so no term can be split between two chunks.
    for start, stop in _chunk_bounds(tokens, _CHUNK_TOKENS):
        rows, ranks, counts = _distinct_tokens(rng, tokens[start:stop], n_features, exponent)
        row_nnz[start:stop] = np.bincount(rows, minlength=stop - start)
        index_parts.append(column_of_rank[ranks])
        count_parts.append(counts)
        del rows, ranks, counts
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(row_nnz, out=indptr[1:])
    return indptr, np.concatenate(index_parts), np.concatenate(count_parts)


def _chunk_bounds(tokens, chunk_tokens):
    """Split the rows into consecutive ranges of about ``chunk_tokens`` tokens each."""
    cumulative = np.cumsum(tokens)
    thresholds = np.arange(chunk_tokens, cumulative[-1], chunk_tokens)
    # A chunk ends right after the row where the running total reaches a threshold.
    cuts = np.searchsorted(cumulative, thresholds) + 1
    bounds = np.unique(np.concatenate(([0], cuts, [tokens.size])))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _distinct_tokens(rng, tokens, n_features, exponent):
    """Draw the tokens of a block of rows and merge repeats into term counts.

    Returns, for each distinct (row, rank) pair sorted by row then rank, the row within
    the block, the rank and the number of times it was drawn.
    """
    keys = _ranks_from_uniform(rng.random(int(tokens.sum())), n_features, exponent)
    # Encoding (row, rank) as one int64 lets a single sort group the repeats and leave each
    # row's terms contiguous, which is the CSR layout.
    keys += np.repeat(np.arange(tokens.size, dtype=np.int64) * n_features, tokens)
    keys.sort()
    is_first = np.empty(keys.size, dtype=bool)
    is_first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=is_first[1:])
    starts = np.flatnonzero(is_first)
    counts = np.diff(starts, append=keys.size).astype(np.int32)
    rows, ranks = np.divmod(keys[starts], n_features)
    return rows, ranks, counts


def _tfidf_values(counts, indices, indptr, df):
    """Sublinear tf times smoothed idf, each row scaled to unit L2 norm (float64)."""
    n_samples = indptr.size - 1
    # 1 + log(count), as TfidfVectorizer(sublinear_tf=True): a term repeated ten times is
    # not ten times as informative. It is >= 1, so every value is positive.
    data = np.log(counts, dtype=np.float64)
    data += 1.0
    # Smoothed idf, as TfidfVectorizer(smooth_idf=True): rare columns weigh more, and the
    # weight stays >= 1 even for a column present in every row.
    idf = np.log((1.0 + n_samples) / (1.0 + df)) + 1.0
    data *= idf[indices]
    _normalize_rows(data, indptr)
    return data


def _normalize_rows(data, indptr):
    """Scale each row of a CSR value array to unit L2 norm, in place; empty rows are kept."""
    row_nnz = np.diff(indptr)
    nonempty = row_nnz > 0
    norms = np.ones(row_nnz.size)
    # reduceat sums from each start to the next one; starting only at non-empty rows keeps
    # every segment exactly one row long, because empty rows span no entries.
    norms[nonempty] = np.sqrt(np.add.reduceat(data * data, indptr[:-1][nonempty]))
    data /= np.repeat(norms, row_nnz)


def _make_ground_truth(rng, df, n_samples, n_informative):
    """Sparse coefficient vector supported on moderately frequent columns."""
    w_true = np.zeros(df.size)
    if n_informative == 0:
        return w_true
    pool = _informative_pool(df, n_samples, n_informative)
    support = rng.choice(pool, size=n_informative, replace=False)
    signs = rng.choice(np.array([-1.0, 1.0]), size=n_informative)
    # Magnitudes bounded away from zero, so every coefficient of the support matters.
    w_true[support] = signs * rng.uniform(1.0, 3.0, size=n_informative)
    return w_true


def _informative_pool(df, n_samples, n_informative):
    """Candidate columns for the support: frequent, but not stop words, nor nearly empty."""
    order = np.argsort(-df, kind="stable")  # most frequent first; ties in a fixed order
    # A coefficient on a stop-word column would act like an intercept, and one on a column
    # with a single entry cannot be estimated: both make poor benchmark ground truths.
    n_head = max(_MIN_HEAD_SKIP, int(np.count_nonzero(df > _STOPWORD_DF_FRACTION * n_samples)))
    moderate = order[n_head:]
    moderate = moderate[df[moderate] >= 2]
    pool = moderate[: _POOL_FACTOR * n_informative]
    if pool.size >= n_informative:
        return pool
    # Tiny or extremely sparse matrices have too few such columns: fall back to the most
    # frequent ones so that the support still has the requested size.
    return order[: max(n_informative, min(df.size, _POOL_FACTOR * n_informative))]


def _make_target(rng, linear, noise, task):
    """Noisy regression target, or labels from thresholding it at its median."""
    scale = linear.std()
    # A zero ground truth, or one whose support no row touches, gives a constant predictor;
    # the noise level is then taken in absolute terms.
    if scale == 0.0:
        scale = 1.0
    target = linear + noise * scale * rng.standard_normal(linear.size)
    if task == "regression":
        return target
    # The median threshold keeps the two classes balanced whatever the scale of w_true.
    return (target > np.median(target)).astype(np.float64)


def _csr_to_canonical_csc(X_csr, dtype, index_dtype):
    """Convert to canonical CSC with the requested value and index dtypes."""
    # scipy's compiled csr -> csc conversion walks the rows in order, so the row indices of
    # each column come out sorted; the CSR terms are already merged, so none are duplicated.
    X = X_csr.tocsc()
    X.data = X.data.astype(dtype, copy=False)
    X.sum_duplicates()  # only checks the structure: a no-op on canonical input
    return _with_index_dtype(X, index_dtype)


def _with_index_dtype(X, index_dtype):
    """Set the dtype of ``X.indices`` and ``X.indptr``, promoting to int64 if needed."""
    if max(X.nnz, *X.shape) > _INT32_MAX:
        index_dtype = np.dtype(np.int64)
    X.indices = X.indices.astype(index_dtype, copy=False)
    X.indptr = X.indptr.astype(index_dtype, copy=False)
    return X


# --------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------


def make_preset(name, task=None, *, dtype=np.float64, random_state=0):
    """Generate a dataset with the shape of a named preset.

    Parameters
    ----------
    name : str
        Key of :data:`PRESETS`: ``"small"``, ``"medium"``, ``"rcv1"``, ``"news20"``,
        ``"finance"`` or ``"url"``.
    task : {"regression", "classification"}, default=None
        Task of the target; ``None`` uses the preset's default.
    dtype : {np.float64, np.float32}, default=np.float64
        Value dtype of ``X``.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of the generator. Pass an int for reproducible output.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (preset.n_samples, preset.n_features)
        Canonical CSC matrix with about ``preset.nnz`` stored entries.
    y : ndarray of shape (preset.n_samples,), dtype float64
        Target or 0./1. labels.
    w_true : ndarray of shape (preset.n_features,), dtype float64
        Sparse ground-truth coefficients.

    Raises
    ------
    ValueError
        If ``name`` is not a preset or ``task`` is invalid.

    See Also
    --------
    make_sparse_data : The generator, with all its parameters.
    fetch_preset : Same output, cached on disk.

    Notes
    -----
    The ``"url"`` preset has 277 M non-zeros: the result alone takes 3.1 GiB in float64
    with int32 indices, and generating it peaks at roughly twice that (extrapolated from
    the smaller presets, about a minute of work). Use it on a machine with 16 GiB or more.

    Examples
    --------
    >>> from fastsparse.datasets import make_preset
    >>> X, y, w_true = make_preset("small")
    >>> X.shape
    (500, 2000)
    """
    preset = _get_preset(name)
    return make_sparse_data(
        preset.n_samples,
        preset.n_features,
        nnz=preset.nnz,
        task=preset.task if task is None else task,
        dtype=dtype,
        random_state=random_state,
    )


def _get_preset(name):
    """Look a preset up by name, with an error listing the valid names."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown dataset preset {name!r}; choose one of {sorted(PRESETS)}."
        ) from None


# --------------------------------------------------------------------------------------
# Disk cache
# --------------------------------------------------------------------------------------


def get_cache_dir(cache_dir=None):
    """Return the directory where :func:`fetch_preset` stores generated datasets.

    Parameters
    ----------
    cache_dir : str or path-like, default=None
        Explicit directory. When None, the ``FASTSPARSE_CACHE_DIR`` environment variable is
        used if set, else ``~/.cache/fastsparse``.

    Returns
    -------
    path : pathlib.Path
        The cache directory, with ``~`` expanded. It is not created here.
    """
    if cache_dir is None:
        cache_dir = os.environ.get("FASTSPARSE_CACHE_DIR") or Path("~", ".cache", "fastsparse")
    return Path(cache_dir).expanduser()


def fetch_preset(name, task=None, *, dtype=np.float64, random_state=0, cache_dir=None):
    """Generate a preset dataset once and reuse it from a disk cache afterwards.

    Parameters
    ----------
    name : str
        Key of :data:`PRESETS`.
    task : {"regression", "classification"}, default=None
        Task of the target; ``None`` uses the preset's default.
    dtype : {np.float64, np.float32}, default=np.float64
        Value dtype of ``X``.
    random_state : int, default=0
        Seed of the generator. Must be an integer, since it is part of the cache key.
    cache_dir : str or path-like, default=None
        Cache directory; see :func:`get_cache_dir` for the default.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (preset.n_samples, preset.n_features)
        Canonical CSC matrix, identical to what :func:`make_preset` returns.
    y : ndarray of shape (preset.n_samples,), dtype float64
        Target or 0./1. labels.
    w_true : ndarray of shape (preset.n_features,), dtype float64
        Sparse ground-truth coefficients.

    Raises
    ------
    ValueError
        If ``name``, ``task``, ``dtype`` or ``random_state`` is invalid.

    See Also
    --------
    make_preset : The same data without the cache.

    Notes
    -----
    Each dataset is a directory ``<cache_dir>/<key>`` holding ``X.npz`` (uncompressed, so it
    loads at disk speed), ``y.npy``, ``w_true.npy`` and a human-readable ``params.json``.
    The key names the preset, task, dtype, seed and :data:`GENERATOR_VERSION`, plus a
    hash of the preset's shape, so changing any of them never reuses a stale entry.

    The entry is written into a temporary directory next to it and renamed into place in a
    single ``os.replace``: an interrupted run leaves at most a stray ``*.tmp-*`` directory,
    never a partial entry. When two processes race, the first rename wins and the other
    process keeps its own (identical) arrays. An unreadable entry is regenerated with a
    warning. Nothing is downloaded.

    Examples
    --------
    >>> import tempfile
    >>> from fastsparse.datasets import fetch_preset
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     X, y, w_true = fetch_preset("small", cache_dir=tmp)  # generated and stored
    ...     X2, y2, w2 = fetch_preset("small", cache_dir=tmp)  # read back from disk
    >>> (X != X2).nnz
    0
    """
    preset = _get_preset(name)
    task = preset.task if task is None else task
    _check_task(task)
    dtype = _check_float_dtype(dtype)
    if not isinstance(random_state, Integral) or isinstance(random_state, bool):
        raise ValueError(
            f"fetch_preset needs an integer random_state (it is part of the cache key), "
            f"got {random_state!r}."
        )
    params = _cache_params(preset, task, dtype, int(random_state))
    entry = get_cache_dir(cache_dir) / _cache_key(params)

    if entry.is_dir():
        try:
            return _read_cache_entry(entry)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            warnings.warn(
                f"Regenerating unreadable cache entry {entry}: {exc}", RuntimeWarning,
                stacklevel=2,
            )
            shutil.rmtree(entry, ignore_errors=True)

    X, y, w_true = make_preset(name, task, dtype=dtype, random_state=int(random_state))
    _write_cache_entry(entry, params, X, y, w_true)
    return X, y, w_true


def _cache_params(preset, task, dtype, random_state):
    """Everything that determines the generated arrays, as a JSON-serialisable dict."""
    params = asdict(preset)
    del params["description"]  # documentation only, does not affect the data
    params.update(
        task=task,
        dtype=dtype.name,
        random_state=random_state,
        generator_version=GENERATOR_VERSION,
    )
    return params


def _cache_key(params):
    """Directory name of a cache entry: readable prefix plus a hash of all parameters."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return (
        f"{params['name']}-{params['task']}-{params['dtype']}-seed{params['random_state']}"
        f"-v{params['generator_version']}-{digest}"
    )


def _read_cache_entry(entry):
    """Load ``(X, y, w_true)`` from a cache directory, checking that the shapes agree."""
    X = _as_canonical_csc(sp.load_npz(entry / "X.npz"))
    y = np.load(entry / "y.npy", allow_pickle=False)
    w_true = np.load(entry / "w_true.npy", allow_pickle=False)
    if y.shape != (X.shape[0],) or w_true.shape != (X.shape[1],):
        raise ValueError(
            f"inconsistent shapes X {X.shape}, y {y.shape}, w_true {w_true.shape}"
        )
    return X, y, w_true


def _write_cache_entry(entry, params, X, y, w_true):
    """Write a cache entry atomically: fill a temporary directory, then rename it."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    # Same parent directory, hence same file system: the final rename is atomic.
    tmp = Path(tempfile.mkdtemp(prefix=f"{entry.name}.tmp-", dir=entry.parent))
    try:
        sp.save_npz(tmp / "X.npz", X, compressed=False)
        np.save(tmp / "y.npy", y)
        np.save(tmp / "w_true.npy", w_true)
        (tmp / "params.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
        try:
            os.replace(tmp, entry)
        except OSError:
            # Another process renamed its identical entry first: keep that one.
            if not entry.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # no-op once the rename succeeded


# --------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------


def load_svmlight(path, n_features=None, dtype=np.float64):
    """Load a file in svmlight / libsvm format as a canonical CSC matrix.

    Parameters
    ----------
    path : str or path-like
        File to read; ``.gz`` and ``.bz2`` files are decompressed on the fly.
    n_features : int, default=None
        Number of columns. When None it is inferred from the largest index in the file,
        which drops trailing empty columns; pass it to get a fixed shape.
    dtype : {np.float64, np.float32}, default=np.float64
        Value dtype of ``X``.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        Canonical CSC matrix (sorted row indices, no duplicates).
    y : ndarray of shape (n_samples,), dtype float64
        Targets or labels, as written in the file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a regular file or cannot be parsed.

    Notes
    -----
    Parsing uses :func:`sklearn.datasets.load_svmlight_file` with ``zero_based="auto"``:
    files whose indices never include 0 are taken as one-based, as libsvm files are. A
    zero-based file that happens to leave column 0 empty is therefore read shifted by one
    column; write such files one-based.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import dump_svmlight_file
    >>> from fastsparse.datasets import load_svmlight, make_preset
    >>> X, y, _ = make_preset("small")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "small.svm")
    ...     dump_svmlight_file(X, y, path, zero_based=False)
    ...     X2, y2 = load_svmlight(path, n_features=X.shape[1])
    >>> X2.format, X2.shape
    ('csc', (500, 2000))
    """
    # Deferred import: sklearn.datasets takes about a second to import and only this
    # function needs it.
    from sklearn.datasets import load_svmlight_file

    path = _existing_file(path)
    dtype = _check_float_dtype(dtype)
    try:
        X, y = load_svmlight_file(
            str(path), n_features=n_features, dtype=dtype, zero_based="auto"
        )
    except ValueError as exc:  # includes UnicodeDecodeError on binary files
        raise ValueError(f"Cannot read {path} as an svmlight/libsvm file: {exc}") from exc
    return _as_canonical_csc(X), y


def load_npz(path, target_path=None):
    """Load a matrix saved by :func:`scipy.sparse.save_npz` as a canonical CSC matrix.

    Parameters
    ----------
    path : str or path-like
        ``.npz`` file written by :func:`scipy.sparse.save_npz`, in any sparse format.
    target_path : str or path-like, default=None
        Optional target file: a ``.npy`` array, or a text file with one value per line
        (anything :func:`numpy.loadtxt` reads).

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        Canonical CSC matrix (sorted row indices, no duplicates); the value dtype is kept.
    y : ndarray of shape (n_samples,), dtype float64, or None
        The target, or None when ``target_path`` is None.

    Raises
    ------
    FileNotFoundError
        If ``path`` or ``target_path`` does not exist.
    ValueError
        If a file cannot be read, or the target is not 1-D with one value per row.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, scipy.sparse as sp
    >>> from fastsparse.datasets import load_npz, make_preset
    >>> X, y, _ = make_preset("small")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sp.save_npz(os.path.join(tmp, "X.npz"), X)
    ...     np.save(os.path.join(tmp, "y.npy"), y)
    ...     X2, y2 = load_npz(os.path.join(tmp, "X.npz"), os.path.join(tmp, "y.npy"))
    >>> X2.shape, y2.shape
    ((500, 2000), (500,))
    """
    path = _existing_file(path)
    try:
        X = sp.load_npz(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        # np.load raises all of these depending on how the file is broken
        raise ValueError(f"Cannot read {path} as a scipy.sparse .npz file: {exc!r}") from exc
    X = _as_canonical_csc(X)
    y = None if target_path is None else _load_target(target_path, X.shape[0])
    return X, y


def read_float_array(path):
    """The float64 array of a ``.npy`` file (pickles refused) or of a text file.

    Shared by :func:`load_npz` and the command line, which check the shape themselves.

    Parameters
    ----------
    path : pathlib.Path
        An existing file; a text file holds whitespace-separated numbers.

    Returns
    -------
    values : ndarray of float64, at least 1-D

    Raises
    ------
    OSError, ValueError, EOFError or TypeError
        When the file cannot be read as numbers (numpy's own exceptions).
    """
    if path.suffix == ".npy":
        values = np.load(path, allow_pickle=False)
    else:
        values = np.loadtxt(path, dtype=np.float64, ndmin=1)
    return np.asarray(values, dtype=np.float64)


def _load_target(path, n_samples):
    """Read a 1-D float64 target from a .npy or text file and check its length."""
    path = _existing_file(path)
    try:
        y = read_float_array(path)
    except (OSError, ValueError, EOFError, TypeError) as exc:
        raise ValueError(f"Cannot read a target from {path}: {exc!r}") from exc
    if y.shape != (n_samples,):
        raise ValueError(
            f"The target in {path} has shape {y.shape}; expected ({n_samples},), one value "
            f"per row of X."
        )
    return y


def _existing_file(path):
    """Return ``path`` as a Path, or raise a clear error if it is not a readable file."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "No such data file", str(path))
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file.")
    return path


def _as_canonical_csc(X):
    """Convert any sparse matrix or array to a canonical ``csc_matrix``."""
    X = sp.csc_matrix(X)  # no copy when X already is a csc_matrix
    X.sum_duplicates()  # sums duplicates and sorts indices, only if needed
    return X


# --------------------------------------------------------------------------------------
# Parameter checks
# --------------------------------------------------------------------------------------


def _check_positive_int(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_nonnegative(value, name):
    if not isinstance(value, Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")


def _check_task(task):
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}.")


def _check_float_dtype(dtype):
    return _check_dtype(dtype, (np.float32, np.float64), "dtype")


def _check_index_dtype(index_dtype):
    return _check_dtype(index_dtype, (np.int32, np.int64), "index_dtype")


def _check_dtype(value, allowed, name):
    """Resolve ``value`` to one of the ``allowed`` numpy dtypes or raise."""
    # np.dtype(None) means float64; refuse it rather than guess.
    try:
        resolved = None if value is None else np.dtype(value)
    except TypeError:
        resolved = None
    if resolved is None or resolved.type not in allowed:
        names = " or ".join(f"np.{t.__name__}" for t in allowed)
        raise ValueError(f"{name} must be {names}, got {value!r}.")
    return resolved
