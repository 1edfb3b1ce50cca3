"""Covariance (Gram) coordinate descent for working sets (glmnet's "covariance updates").

Plain coordinate descent on a working set ws (``fastsparse._kernels.cd_epoch``) costs
O(nnz_j) per coordinate: it reads column j and the residual to get the gradient, and
writes the residual back when w_j moves. With the Gram matrix of the working set,

    G = X_ws,c^T S X_ws,c   (m x m, centered when there is an intercept)
    c = X_ws,c^T S r        (the gradient, kept up to date instead of the residual),

one update costs O(1) when w_j does not move and O(m) (a contiguous, vectorizable row of
G) when it does: ``c -= delta * G[j]``. The residual is needed only to certify the
restricted problem: it is brought up to date once per cycle (O(nnz of the columns that
moved)), the duality gap is computed as in :func:`fastsparse._kernels.inner_solve`, and c
is recomputed from the fresh residual there, so that rounding in the O(m) updates never
accumulates over more than one cycle.

G is built from a row-major copy of the working-set columns: each row i contributes the
outer product of its entries, so the cost is sum_i nnz_ws(row i)^2 / 2 (symmetry), not
m^2 n. Along a regularization path most of the working set is unchanged from one alpha
to the next: :class:`GramCache` keeps the (uncentered) Gram matrix of the columns seen so
far and only computes the block of the new columns, O(sum over their entries of the
row counts).

Intercept: the centered Gram matrix is X^T S X - n xbar xbar^T (the weights sum to n),
which cancels for a column whose mean is large next to its spread. It is only used when
every working-set column passes :func:`centering_is_safe` (the mean part is at most half
of the raw squared norm, so at most one bit is lost); otherwise the caller keeps the
plain kernel.

Nothing here validates its input: the jitted functions take arrays that
``fastsparse._validation`` and the solver have already checked, like every kernel.
"""

import numpy as np
from numba import njit

from ._kernels import (
    GAP_NOISE_FLOOR,
    _anderson_point,
    _anderson_weights,
    _extrapolated_dual,
    conjugate_penalty,
    dual_gradient,
    duality_gap,
)
from ._sparse_ops import add_columns, copy_into, enet_coordinate_minimizer, xt_dot

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")

#: Largest n xbar_j^2 / (sum_i s_i x_ij^2) for which the centered Gram matrix is formed
#: as X^T S X - n xbar xbar^T: at 1/2 the centered squared norm keeps at least half of
#: the raw one, so the subtraction loses at most about one bit (the same threshold as
#: ``fastsparse._sparse_ops.centered_sqnorm``).
CENTERING_MAX_RATIO = 0.5


# --------------------------------------------------------------------------------------
# Building the Gram matrix
# --------------------------------------------------------------------------------------

@njit(**_JIT)
def rows_of_columns(data, indices, indptr, cols, n_rows):
    """Row-major (CSR) copy of X[:, cols]: row pointers, column positions and values.

    Positions are indices into ``cols`` (0..m-1), increasing within each row because
    the columns are visited in order. Costs O(n_rows + nnz of the columns).

    Returns (rptr, rpos, rval) with rval in float64.
    """
    m = cols.shape[0]
    rptr = np.zeros(n_rows + 1, dtype=np.int64)
    for k in range(m):
        j = cols[k]
        for kk in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            rptr[indices[kk] + 1] += 1
    for i in range(n_rows):
        rptr[i + 1] += rptr[i]
    nnz = rptr[n_rows]
    rpos = np.empty(nnz, dtype=np.int32)
    rval = np.empty(nnz, dtype=np.float64)
    nxt = rptr[:n_rows].copy()
    for k in range(m):
        j = cols[k]
        for kk in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            i = indices[kk]
            dst = nxt[i]
            rpos[dst] = k
            rval[dst] = data[kk]
            nxt[i] = dst + 1
    return rptr, rpos, rval


@njit(**_JIT)
def gram_build(data, indices, indptr, cols, n_rows, sw, weighted):
    """Uncentered weighted Gram matrix X[:, cols]^T S X[:, cols] (m x m, float64).

    Sum over rows of the outer product of the row's entries, upper triangle only, then
    mirrored: sum_i nnz_i (nnz_i + 1) / 2 multiply-adds with nnz_i the number of entries
    of row i within ``cols``.
    """
    m = cols.shape[0]
    rptr, rpos, rval = rows_of_columns(data, indices, indptr, cols, n_rows)
    gram = np.zeros((m, m))
    for i in range(n_rows):
        start = rptr[i]
        end = rptr[i + 1]
        s = sw[i] if weighted else 1.0
        for a in range(start, end):
            pa = rpos[a]
            va = s * rval[a]
            for b in range(a, end):
                gram[pa, rpos[b]] += va * rval[b]
    # Positions increase within a row, so only the upper triangle was written.
    for a in range(m):
        for b in range(a + 1, m):
            gram[b, a] = gram[a, b]
    return gram


@njit(**_JIT)
def gram_cross(data, indices, indptr, cols, new_cols, n_rows, sw, weighted):
    """Block X[:, cols]^T S X[:, new_cols] (len(cols) x len(new_cols), float64).

    Walks the columns ``cols`` in CSC order and, for each entry (i, j), the entries of
    row i among ``new_cols`` (a row-major copy of those only): the cost is the sum over
    the entries of ``cols`` of the number of ``new_cols`` entries in the same row,
    which is small when few columns are new.
    """
    m = cols.shape[0]
    rptr, rpos, rval = rows_of_columns(data, indices, indptr, new_cols, n_rows)
    block = np.zeros((m, new_cols.shape[0]))
    for k in range(m):
        j = cols[k]
        for kk in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            i = indices[kk]
            start = rptr[i]
            end = rptr[i + 1]
            if start == end:
                continue
            v = np.float64(data[kk])
            if weighted:
                v *= sw[i]
            for b in range(start, end):
                block[k, rpos[b]] += v * rval[b]
    return block


def centering_is_safe(xbar, lipschitz, n_samples):
    """Whether the centered Gram matrix X^T S X - n xbar xbar^T is accurate for ``cols``.

    Parameters
    ----------
    xbar : ndarray of shape (m,)
        Weighted column means (zeros without an intercept).
    lipschitz : ndarray of shape (m,)
        Centered weighted squared norms sum_i s_i (x_ij - xbar_j)^2.
    n_samples : int
        Number of rows (the weights sum to it).

    Returns
    -------
    bool
        True when n xbar_j^2 <= CENTERING_MAX_RATIO * sum_i s_i x_ij^2 for every column
        (the raw squared norm is the centered one plus n xbar_j^2).
    """
    xbar = np.asarray(xbar, dtype=np.float64)
    mean_part = n_samples * xbar * xbar
    raw = np.asarray(lipschitz, dtype=np.float64) + mean_part
    return bool(np.all(mean_part <= CENTERING_MAX_RATIO * raw))


@njit(**_JIT)
def gather_gram(store, pos, xbar, n_samples, center):
    """G[a, b] = store[pos[a], pos[b]] (- n xbar_a xbar_b when ``center``), C-contiguous.

    The Gram matrix of a working set taken out of the cache's storage, centered on the
    way (see :func:`centering_is_safe`). O(m^2).
    """
    m = pos.shape[0]
    out = np.empty((m, m))
    for a in range(m):
        src = store[pos[a]]
        for b in range(m):
            out[a, b] = src[pos[b]]
        if center:
            f = n_samples * xbar[a]
            for b in range(m):
                out[a, b] -= f * xbar[b]
    return out


#: Largest side of a Gram cache (8 * 4000^2 bytes = 128 MB).
MAX_CACHE_SIDE = 4000


class GramCache:
    """Uncentered Gram matrix of the columns seen so far, extended on demand.

    Along a path (and across the outer iterations of one solve) the working set mostly
    keeps its columns: the cache computes only the rows of new columns
    (:func:`gram_cross`) and hands out the Gram matrix of any working set by indexing.
    The storage is a square buffer whose capacity doubles when full, so adding columns
    writes only their rows and columns.

    Parameters
    ----------
    data, indices, indptr : ndarray
        The validated CSC arrays of X.
    n_samples : int
        Number of rows of X.
    sw : ndarray
        Sample weights summing to n_samples, or a placeholder when ``weighted`` is False.
    weighted : bool
        Whether ``sw`` holds weights.
    max_size : int, default=4000
        Largest number of cached columns (the buffer takes up to 8 max_size^2 bytes:
        128 MB at 4000). Past it, the columns outside the requested working set are
        dropped.

    Attributes
    ----------
    cols : ndarray of int64
        The cached columns, in the order of the rows of :attr:`gram`.
    n_built : int
        How many columns had their Gram row computed so far (work counter for tests
        and benchmarks).
    expected_epochs : int
        Epochs of the last working-set solve, kept by the solver to predict the next
        one's (:func:`gram_is_cheaper`).
    """

    def __init__(self, data, indices, indptr, n_samples, sw, weighted, max_size=4000):
        if int(max_size) < 1:
            raise ValueError(f"max_size must be a positive integer, got {max_size!r}.")
        self._X = (data, indices, indptr)
        self.n_samples = int(n_samples)
        self._sw = sw
        self._weighted = bool(weighted)
        self.max_size = int(max_size)
        self.cols = np.zeros(0, dtype=np.int64)
        self._store = np.zeros((0, 0))
        self._sorted = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        self.n_built = 0
        # Epochs of the last working-set solve (set by the solver): the prediction of
        # the next one's for :func:`gram_is_cheaper`; 6 is one Anderson cycle.
        self.expected_epochs = 6

    @property
    def gram(self):
        """Uncentered Gram matrix of :attr:`cols` (a view of the storage)."""
        k = self.cols.shape[0]
        return self._store[:k, :k]

    def state(self):
        """Snapshot of the cache (for benchmarks that replay a call several times)."""
        return (self.cols, self._store.copy(), self._sorted, self.n_built)

    def restore(self, state):
        """Go back to a :meth:`state` snapshot (which stays reusable)."""
        self.cols, store, self._sorted, self.n_built = state
        self._store = store.copy()

    def _positions(self, ws):
        """Position of each ws column in self.cols, -1 when it is not cached."""
        pos = np.full(ws.shape[0], -1, dtype=np.int64)
        order, sorted_cols = self._sorted
        if sorted_cols.shape[0] == 0:
            return pos
        at = np.minimum(np.searchsorted(sorted_cols, ws), sorted_cols.shape[0] - 1)
        hit = sorted_cols[at] == ws
        pos[hit] = order[at[hit]]
        return pos

    def _set_cols(self, cols):
        self.cols = cols
        order = np.argsort(cols, kind="stable")
        self._sorted = (order, cols[order])

    def _keep(self, keep):
        """Keep only the cached columns at positions ``keep`` (compacting the storage)."""
        k = keep.shape[0]
        self._store[:k, :k] = self._store[np.ix_(keep, keep)]
        self._set_cols(self.cols[keep])

    def _extend(self, new):
        """Append the columns ``new`` (not cached yet) and their Gram rows."""
        data, indices, indptr = self._X
        k = self.cols.shape[0]
        union = np.concatenate([self.cols, new])
        size = union.shape[0]
        if size > self._store.shape[0]:
            cap = min(max(2 * self._store.shape[0], size, 64), self.max_size)
            store = np.empty((cap, cap))
            store[:k, :k] = self._store[:k, :k]
            self._store = store
        block = gram_cross(data, indices, indptr, union, new, self.n_samples, self._sw,
                           self._weighted)
        self._store[:size, k:size] = block
        self._store[k:size, :k] = block[:k].T
        self._set_cols(union)
        self.n_built += new.shape[0]

    def get(self, ws, xbar=None):
        """Gram matrix of the working set ``ws`` (aligned with it, C-contiguous).

        Parameters
        ----------
        ws : ndarray of int
            Distinct feature indices.
        xbar : ndarray of shape (len(ws),) or None
            Column means aligned with ws when there is an intercept: the result is then
            the centered matrix X_ws^T S X_ws - n xbar xbar^T (check
            :func:`centering_is_safe` first).

        Returns
        -------
        ndarray of shape (len(ws), len(ws))
        """
        ws = np.asarray(ws, dtype=np.int64)
        if ws.ndim != 1 or np.unique(ws).shape[0] != ws.shape[0]:
            raise ValueError("ws must be a 1-d array of distinct feature indices.")
        if ws.shape[0] > self.max_size:
            raise ValueError(f"working set of {ws.shape[0]} columns exceeds max_size="
                             f"{self.max_size}.")
        pos = self._positions(ws)
        missing = ws[pos < 0]
        if missing.shape[0]:
            if self.cols.shape[0] + missing.shape[0] > self.max_size:
                # Keep only the working set's cached columns; the others are dropped.
                self._keep(np.sort(pos[pos >= 0]))
            self._extend(missing)
            pos = self._positions(ws)
        center = xbar is not None
        xbar = np.zeros(0) if xbar is None else np.asarray(xbar, dtype=np.float64)
        return gather_gram(self._store, pos, xbar, float(self.n_samples), center)


# --------------------------------------------------------------------------------------
# When is it cheaper?
# --------------------------------------------------------------------------------------

#: Measured costs on the rcv1-shaped path without intercept (scripts/gram_cd_bench.py,
#: 2 shared cores), in nanoseconds: one plain CD epoch per stored entry of the working
#: set including its share of gap checks (1.3-1.6), one Gram update per element of a
#: row of G (0.35: contiguous and vectorized), and one multiply-add of the Gram build
#: (1.2: a scattered write). Only their ratios matter.
COST_SPARSE_ENTRY = 1.4
COST_GRAM_ELEMENT = 0.35
COST_BUILD_PAIR = 1.2
#: Passes over the working set's entries that gram_inner_solve makes besides its
#: epochs: the starting gradient and (usually) one or two certified gap checks.
GRAM_FIXED_PASSES = 2.5
#: Required predicted advantage: the rule errs towards the plain kernel.
GRAM_MARGIN = 1.2


def estimate_new_pairs(nnz_new, nnz_ws, n_samples):
    """Multiply-adds to add columns with ``nnz_new`` entries to a cached working set.

    Each new entry meets on average nnz_ws / n_samples working-set entries in its row;
    the factor 1.5 is the row-length skew measured on the rcv1 preset (sum_i nnz_i^2
    is about 1.5 times nnz_ws^2 / n there).
    """
    return 1.5 * float(nnz_new) * float(nnz_ws) / max(int(n_samples), 1)


def gram_is_cheaper(m, nnz_ws, n_moving, new_pairs, expected_epochs, max_size=4000):
    """Predict whether gram_inner_solve (plus extending G) beats inner_solve.

    Parameters
    ----------
    m : int
        Working-set size.
    nnz_ws : int
        Stored entries of the working-set columns.
    n_moving : int
        Coordinates expected to change in an epoch (the current non-zeros in ws is a
        good proxy: zero coordinates that stay zero cost O(1) in Gram CD).
    new_pairs : float
        Multiply-adds to bring the Gram cache up to the working set
        (:func:`estimate_new_pairs`; 0 when every column is cached).
    expected_epochs : float
        Epochs the solve is expected to take (e.g. those of the previous solve along a
        path; at least one Anderson cycle, 6, is typical).
    max_size : int, default=4000
        Largest working set for which G is formed at all (8 m^2 bytes).

    Returns
    -------
    bool
        True when the predicted Gram time, GRAM_MARGIN times over, is below the plain
        CD time: E c_s nnz_ws > margin (c_s F nnz_ws + E c_g m max(n_moving, 1)
        + c_b new_pairs).

    Notes
    -----
    Measured on the rcv1-shaped path: 1-epoch solves (the first half of the path's
    big seeded working sets) are slower with G (the fixed passes alone cost more than
    the epoch), while 6-42-epoch solves with a warm cache are 2-10x faster.
    """
    if m < 1 or m > max_size or expected_epochs <= 0:
        return False
    sparse = expected_epochs * COST_SPARSE_ENTRY * nnz_ws
    gram = (GRAM_FIXED_PASSES * COST_SPARSE_ENTRY * nnz_ws
            + expected_epochs * COST_GRAM_ELEMENT * m * max(n_moving, 1)
            + COST_BUILD_PAIR * new_pairs)
    return bool(sparse > GRAM_MARGIN * gram)


# --------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------

@njit(**_JIT)
def gram_cd_epoch(ws, w, c, gram, lipschitz, l1, l2, positive):
    """One cyclic pass of covariance coordinate descent over the working set.

    ``c[k]`` is the gradient x_c,j^T (s r) of j = ws[k] at the current w, kept up to
    date with ``c -= delta * gram[k]`` whenever w_j changes by delta; the residual itself
    is not touched. The coordinate minimizer is the one of ``cd_epoch``.

    Returns the number of coordinates that moved.
    """
    m = ws.shape[0]
    moved = 0
    for k in range(m):
        lk = lipschitz[k]
        if lk <= 0.0:
            continue
        j = ws[k]
        old = w[j]
        new = enet_coordinate_minimizer(old * lk + c[k], lk, l1[j], l2[j], positive)
        if new != old:
            d = new - old
            w[j] = new
            row = gram[k]
            for kk in range(m):
                c[kk] -= d * row[kk]
            moved += 1
    return moved


@njit(**_JIT)
def _sync_residual(data, indices, indptr, ws, w, w_res, xbar, fit_intercept, r_raw,
                   shift, delta):
    """Bring r_raw (and the shift) from the coefficients ``w_res`` to the current w.

    Only the columns that moved are read. Returns the new shift; w_res is updated.
    """
    for k in range(ws.shape[0]):
        wj = w[ws[k]]
        delta[k] = wj - w_res[k]
        w_res[k] = wj
    return shift + add_columns(data, indices, indptr, ws, delta, xbar, fit_intercept,
                               r_raw)


@njit(**_JIT)
def _gradient_from_residual(data, indices, indptr, ws, r, sw, weighted, fit_intercept,
                            sq, c):
    """c = X_ws^T (s (r - weighted mean of r)): the exact CD gradient from a residual.

    Only needed with unpenalized features, whose projection makes the dual direction
    differ from r; otherwise the gap computation's gradient is this very vector.
    """
    n = r.shape[0]
    mean = 0.0
    if fit_intercept:
        total = 0.0
        for i in range(n):
            total += (sw[i] * r[i]) if weighted else r[i]
        mean = total / n
    for i in range(n):
        sq[i] = (sw[i] * (r[i] - mean)) if weighted else (r[i] - mean)
    xt_dot(data, indices, indptr, ws, sq, c)


@njit(**_JIT)
def _estimated_gap(ws, w, c, rr, l1, l2, positive):
    """Restricted duality gap from the gradient alone, O(m): (gap, primal).

    With r = y_c - X_c w, c = X_c^T S r and rr = ||r||_S^2, the dual point t * r of
    :func:`fastsparse._kernels.dual_value` has x_j^T S (t r) = t c_j and
    ||y_c||^2 - ||y_c - t r||^2 = 2 t y_c^T S r - t^2 rr with y_c^T S r = rr + w^T c
    (since y_c = r + X_c w). This is the gap ``duality_gap`` computes from the residual,
    up to rounding, without touching it. Only valid without unpenalized features (whose
    projection changes the dual direction).
    """
    t = 1.0
    pen = 0.0
    wc = 0.0
    for k in range(ws.shape[0]):
        j = ws[k]
        wj = w[j]
        pen += l1[j] * abs(wj) + 0.5 * l2[j] * wj * wj
        wc += wj * c[k]
        if l2[j] == 0.0 and l1[j] > 0.0:
            g = c[k] if positive else abs(c[k])
            if g * t > l1[j]:
                t = l1[j] / g
    conj = 0.0
    for k in range(ws.shape[0]):
        j = ws[k]
        if l1[j] > 0.0 or l2[j] > 0.0:
            conj += conjugate_penalty(t * c[k], l1[j], l2[j], positive)
    primal = 0.5 * rr + pen
    dual = t * (rr + wc) - 0.5 * t * t * rr - conj
    return primal - dual, primal


@njit(**_JIT)
def _weighted_sqnorm(r, sw, weighted):
    acc = 0.0
    for i in range(r.shape[0]):
        acc += (sw[i] * r[i] * r[i]) if weighted else (r[i] * r[i])
    return acc


@njit(**_JIT)
def objective_change(ws, w, w_new, c, gram, l1, l2, delta, c_new):
    """Change of the (n-scaled) objective from w to w_new (aligned with ws), O(m nnz(dw)).

    With dw = w_new - w and c the gradient X_ws,c^T S r at w, the gradient at w_new is
    c_new = c - G dw and the loss changes by -dw^T (c + c_new) / 2 (exact for the
    quadratic loss), so the residual is not needed. Fills ``delta`` with dw and
    ``c_new``.
    """
    m = ws.shape[0]
    dpen = 0.0
    for k in range(m):
        j = ws[k]
        old = w[j]
        new = w_new[k]
        delta[k] = new - old
        dpen += l1[j] * (abs(new) - abs(old)) + 0.5 * l2[j] * (new * new - old * old)
    copy_into(c_new, c)
    for k in range(m):
        d = delta[k]
        if d != 0.0:
            row = gram[k]
            for kk in range(m):
                c_new[kk] -= d * row[kk]
    dloss = 0.0
    for k in range(m):
        dloss -= 0.5 * delta[k] * (c[k] + c_new[k])
    return dloss + dpen


#: Cycles between two certified gap checks at most, even while the O(m) estimate says
#: the working set is far from solved: bounds the drift of the incrementally updated
#: gradient (the certified check resets it from the residual).
MAX_CYCLES_UNCERTIFIED = 16


@njit(**_JIT)
def gram_inner_solve(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                     fit_intercept, xbar, lipschitz, l1, l2, positive, y_c, free,
                     xbar_free, gram_pinv, tol, max_epochs, anderson_k,
                     dual_extrapolation, q_best, gram, early_check=True):
    """Covariance coordinate descent on the working set until its gap <= tol.

    Same arguments, contract and return value as
    :func:`fastsparse._kernels.inner_solve`, plus ``gram``: the (centered, weighted)
    Gram matrix of the working-set columns, aligned with ws (see :class:`GramCache`).
    On return w, r_raw and the returned shift are consistent, as with ``inner_solve``,
    and the returned gap is computed from the actual residual by
    ``fastsparse._kernels.duality_gap`` (the certificate never depends on G).

    Epochs run in cycles of ``anderson_k + 1`` (plus a check after the first epoch when
    ``early_check``). The gradient c = X_ws,c^T S r and ||r||_S^2 are tracked without
    the residual, so at a cycle end the restricted gap is first *estimated* in O(m)
    (:func:`_estimated_gap`); only when the estimate is below tol (or every
    ``MAX_CYCLES_UNCERTIFIED`` cycles) is the residual brought up to date and the gap
    certified as in ``inner_solve``, which also resets c from the residual. The primal
    Anderson extrapolation is evaluated without the residual too: with dw = w_acc - w
    and c_acc = c - G dw, ||r_acc||_S^2 = ||r||_S^2 - dw^T (c + c_acc).

    With unpenalized features (``free``) or ``dual_extrapolation`` every cycle end is
    certified from the residual (the estimate does not cover the projected dual
    direction; dual extrapolation needs every epoch's residual, which is then
    synchronised after every epoch: correct, but most of the speed-up is lost).

    Returns (shift, n_epochs, gap, found) with found True when q_best was written.
    """
    n_ws = ws.shape[0]
    n = r_raw.shape[0]
    cycle = max(anderson_k, 1) + 1
    hist_w = np.empty((cycle, n_ws))
    hist_r = np.empty((cycle if dual_extrapolation else 1, n))
    n_hist = 0
    grad = np.empty(n_ws)
    grad_acc = np.empty(n_ws)
    r = np.empty(n)
    q = np.empty(n)
    sq = np.empty(n)
    r_trial = np.empty(n)
    q_acc = np.empty(n)
    c = np.empty(n_ws)
    c_acc = np.empty(n_ws)
    c0 = np.empty(n_ws)  # gradient at the baseline w0 (last certified point)
    w0 = np.empty(n_ws)
    w_acc = np.empty(n_ws)
    delta = np.empty(n_ws)
    w_res = np.empty(n_ws)  # the coefficients r_raw currently corresponds to
    for k in range(n_ws):
        w_res[k] = w[ws[k]]
        w0[k] = w_res[k]
    estimate = free.shape[0] == 0 and not dual_extrapolation

    # Starting gradient and squared residual norm: one pass over the working set.
    for i in range(n):
        r[i] = r_raw[i] + shift
    _gradient_from_residual(data, indices, indptr, ws, r, sw, weighted, fit_intercept,
                            sq, c)
    copy_into(c0, c)
    rr0 = _weighted_sqnorm(r, sw, weighted)

    gap = np.inf
    best_dual = -np.inf
    found = False
    epoch = 0
    uncertified = 0
    for epoch in range(1, max_epochs + 1):
        gram_cd_epoch(ws, w, c, gram, lipschitz, l1, l2, positive)
        for k in range(n_ws):
            hist_w[n_hist, k] = w[ws[k]]
        if dual_extrapolation:
            shift = _sync_residual(data, indices, indptr, ws, w, w_res, xbar,
                                   fit_intercept, r_raw, shift, delta)
            for i in range(n):
                hist_r[n_hist, i] = r_raw[i] + shift
        n_hist += 1
        if n_hist < cycle and epoch < max_epochs and not (epoch == 1 and early_check):
            continue
        # ||r||_S^2 at the current w from the baseline: rr0 - (w - w0)^T (c0 + c).
        rr = rr0
        for k in range(n_ws):
            rr -= (w[ws[k]] - w0[k]) * (c0[k] + c[k])
        certify = (not estimate or epoch == max_epochs
                   or uncertified + 1 >= MAX_CYCLES_UNCERTIFIED)
        if not certify:
            gap_est, primal = _estimated_gap(ws, w, c, rr, l1, l2, positive)
            certify = gap_est <= tol or gap_est <= GAP_NOISE_FLOOR * abs(primal)
        if certify:
            uncertified = 0
            shift = _sync_residual(data, indices, indptr, ws, w, w_res, xbar,
                                   fit_intercept, r_raw, shift, delta)
            dual_gradient(data, indices, indptr, ws, r_raw, shift, sw, weighted, free,
                          gram_pinv, xbar_free, fit_intercept, r, q, sq, grad)
            gap, primal, dual, _ = duality_gap(r, q, sw, weighted, y_c, grad, ws, w, l1,
                                               l2, positive)
            # New baseline from the fresh residual (no drift carried over). Without
            # unpenalized features the dual direction q is the (mean-corrected)
            # residual, so its gradient is the CD gradient.
            if free.shape[0] > 0:
                _gradient_from_residual(data, indices, indptr, ws, r, sw, weighted,
                                        fit_intercept, sq, c)
            else:
                copy_into(c, grad)
            copy_into(c0, c)
            for k in range(n_ws):
                w0[k] = w[ws[k]]
            rr0 = _weighted_sqnorm(r, sw, weighted)
            rr = rr0
            if dual > best_dual:
                best_dual = dual
                copy_into(q_best, q)
                found = True
            if dual_extrapolation and n_hist == cycle:
                d_acc = _extrapolated_dual(data, indices, indptr, ws, hist_r, n_hist, sw,
                                           weighted, free, gram_pinv, xbar_free,
                                           fit_intercept, y_c, l1, l2, positive, r_trial,
                                           q_acc, sq, grad_acc)
                if d_acc > best_dual:
                    best_dual = d_acc
                    copy_into(q_best, q_acc)
            gap = primal - best_dual
            if gap <= tol or gap <= GAP_NOISE_FLOOR * abs(primal):
                break
        else:
            uncertified += 1
        if anderson_k > 0 and n_hist == cycle:
            coef = _anderson_weights(hist_w, n_hist)
            if coef.shape[0] > 0:
                _anderson_point(hist_w, coef, positive, w_acc)
                dobj = objective_change(ws, w, w_acc, c, gram, l1, l2, delta, c_acc)
                if dobj < 0.0:
                    for k in range(n_ws):
                        w[ws[k]] = w_acc[k]
                    copy_into(c, c_acc)
        if n_hist == cycle:
            n_hist = 0
    # An accepted extrapolation after the last check leaves r_raw behind w.
    shift = _sync_residual(data, indices, indptr, ws, w, w_res, xbar, fit_intercept,
                           r_raw, shift, delta)
    return shift, epoch, gap, found
