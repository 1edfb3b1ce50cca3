"""Ridge solvers on CSC data with implicit centering, and their common certificate.

Problem, in the internal scale (sample weights ``s`` rescaled to sum to n, as everywhere
in fastsparse; ``a`` the internal regularization)::

    min_w  1/2 ||y_c - X_c w||^2_s + a/2 ||w||^2

with X_c = X - 1 xbar^T and y_c = y - ybar (weighted means; no centering without an
intercept). scikit-learn's Ridge objective ``||y - Xw - b||^2_S + alpha ||w||^2`` with raw
weights S (total sum_S) is ``sum_S / n`` times twice this one when ``a = alpha * n / sum_S``
(``a = alpha`` without weights), and the elastic net of :mod:`fastsparse._solver` with
``l1_ratio = 0`` is this one divided by n, so ``alpha_enet = a / n = alpha / sum_S``.

X_c is never formed: X_c v = X v - 1 (xbar.v) and X_c^T u = X^T u - xbar sum(u), one pass
over the non-zeros each, and X_c X_c^T p in one fused pass, all by the threaded kernels
of :mod:`fastsparse._ridge_kernels` on X's own arrays (float32 or float64, no
conversion, bit-identical for any thread count). With Z = S^1/2 X_c and y~ = S^1/2 y_c
the problem is ``min ||y~ - Z w||^2 / 2 + a ||w||^2 / 2``.

Certificate shared by every solver (:func:`_bounds`). The objective is a-strongly
convex, so any duality gap G gives ``||w - w*||^2 <= 2 G / a``, and the gradient
g = Z^T (y~ - Z w) - a w gives ``||w - w*|| <= ||g|| / a`` (the gap at the dual point
"residual" is exactly ||g||^2 / (2a): the ridge gap of DESIGN.md section 2 with l1 = 0).
Better dual points (the residual scaled optimally; a c for the dual solver) give smaller
gaps. Every solver stops when the best bound says ``||w - w*|| <= tol ||w||``, and the
reported bound is recomputed from scratch on the returned coefficients (by
:func:`certify`, or by the iterative solvers themselves when they confirm a stop: the
same computation, returned with the coefficients), so it never relies on a solver's own
recurrences.

Solvers (``solve_*``) take the prepared :class:`RidgeData`, centered targets ``Yc`` of
shape (n, k) and internal regularizations ``a`` of shape (k,), and return coefficients of
shape (p, k).
"""

import contextlib
import warnings

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._ridge_kernels import (KIND_EXPLICIT, KIND_ZERO, Products, cr_advance,
                             cr_new_direction)
from ._solver import prepare_problem, solve_enet, zero_constant_targets
from ._validation import check_column_norms


#: Largest side of a dense Gram / kernel matrix the direct solvers factorize (2 GiB).
DIRECT_MAX = 16_384
#: ``solver="dual"`` factorizes the n x n kernel up to this n, and runs CG on it above.
DUAL_DIRECT_MAX = 4_000
#: Default iteration cap of the iterative solvers when ``max_iter`` is None.
DEFAULT_MAX_ITER = 10_000
#: Dense factorizations below this size run on one BLAS thread (see :func:`blas_limit`).
SMALL_DENSE = 1_024

_BLAS_CONTROLLER = None


def blas_limit(m):
    """Context running a dense m x m factorization on one BLAS thread when m is small.

    Threads gain little on small matrices and, when the cores are busy, a threaded BLAS
    stalls: a 500 x 500 Cholesky was measured at 0.3-0.8 s instead of 1 ms on a loaded
    2-core machine. The controller (library discovery) is created once.
    """
    global _BLAS_CONTROLLER
    if m >= SMALL_DENSE:
        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


# --------------------------------------------------------------------------------------
# Problem
# --------------------------------------------------------------------------------------


class RidgeData:
    """A validated CSC matrix with its weighted column means, computed once.

    Parameters
    ----------
    X : scipy.sparse CSC matrix, validated by :func:`fastsparse._validation.check_csc`.
    sw : ndarray of shape (n,) summing to n, or None
        Normalized sample weights (:func:`fastsparse._validation.check_sample_weight`).
    sw_sum : float
        Sum of the raw sample weights (n when there are none); ``a = alpha * n / sw_sum``.
    fit_intercept : bool
    """

    def __init__(self, X, sw, sw_sum, fit_intercept):
        self.X = X
        self.data, self.indices, self.indptr = X.data, X.indices, X.indptr
        self.n, self.p = X.shape
        self.sw = sw
        self.weighted = sw is not None
        self.sqrt_sw = np.sqrt(sw) if self.weighted else None
        self.sw_sum = float(sw_sum)
        self.fit_intercept = bool(fit_intercept)
        # Products with X_c on Numba's threads (bit-identical for any thread count).
        self.products = Products(X, np.zeros(self.p), False)
        # One threaded pass: weighted column means, centered squared norms and kinds.
        # Columns stored in every row are centered explicitly by the products (a large
        # mean would cancel), constant ones (zero centered norm: X_c's column is 0, so
        # w_j* = 0 exactly) are skipped (see fastsparse._ridge_kernels).
        xbar, self.sqnorm, self.kind = self.products.column_stats(sw, self.fit_intercept)
        # Overflowed (NaN / inf) or underflowed (0) column norms: NaN coefficients with
        # RuntimeWarnings only, or columns taken for all-zero ones (check_column_norms).
        check_column_norms(self.data, self.indices, self.indptr, self.sqnorm, sw)
        self.xbar = xbar if self.fit_intercept else np.zeros(self.p)
        self.products.set_centering(self.xbar, self.kind, self.fit_intercept)

    def internal_alpha(self, alpha):
        """scikit-learn's Ridge alpha (raw weights) -> ``a`` of the internal scale."""
        return np.asarray(alpha, dtype=np.float64) * (self.n / self.sw_sum)

    def center_targets(self, Y):
        """Weighted means of the columns of Y (0 without intercept) and Y - means."""
        if not self.fit_intercept:
            return Y - 0.0, np.zeros(Y.shape[1])
        # einsum, not sw @ Y: BLAS would wake OpenBLAS's spinning threads (see
        # fastsparse.ridge._intercept).
        offset = (np.einsum("i,ik->k", self.sw, Y) if self.weighted
                  else Y.sum(axis=0)) / self.n
        return zero_constant_targets(Y - offset, offset, self.sw), offset

    def xc(self, V):
        """X_c V = X V - 1 (xbar^T V) for V of shape (p, k)."""
        return self.products.xc(V)

    def xct(self, U):
        """X_c^T U = X^T U - xbar (1^T U) for U of shape (n, k)."""
        return self.products.xct(U)

    def z(self, V):
        """Z V with Z = S^1/2 X_c."""
        out = self.xc(V)
        if self.weighted:
            out *= self.sqrt_sw[:, None]
        return out

    def zt(self, U):
        """Z^T U = X_c^T S^1/2 U."""
        if self.weighted:
            U = U * self.sqrt_sw[:, None]
        return self.xct(U)

    def zzt(self, P, want_zt=False):
        """(Z Z^T P, Z^T P or None) in one pass over X (:func:`kernel_matmat`)."""
        if self.weighted:
            P = P * self.sqrt_sw[:, None]
        Q, U = self.products.kernel(P, want_zt)
        if self.weighted:
            Q *= self.sqrt_sw[:, None]
        return Q, U

    def ytilde(self, Yc):
        """S^1/2 y_c."""
        Yc = np.asarray(Yc, dtype=np.float64)
        return Yc * self.sqrt_sw[:, None] if self.weighted else Yc.copy()


# --------------------------------------------------------------------------------------
# Certificate
# --------------------------------------------------------------------------------------

_EPS = np.finfo(np.float64).eps


def _col_dot(A, B):
    """Column-wise dot products sum_i A[i, t] B[i, t]."""
    return np.einsum("ij,ij->j", A, B)


def _bounds(Yt, Rt, W, a, ZtRt=None, C=None, ZtY_norm=None):
    """Certified relative errors ||w - w*|| / ||w|| and duality gaps, per target.

    ``Yt`` = y~ = S^1/2 y_c, ``Rt`` = y~ - Z W (Z = S^1/2 X_c), ``ZtRt`` = Z^T Rt (None to
    skip the bounds that need it), ``C`` the dual variable when W = Z^T C exactly. The
    internal objective is P(w) = ||y~ - Z w||^2 / 2 + a ||w||^2 / 2 and its dual
    D(u) = ||y~||^2/2 - ||y~ - u||^2/2 - ||Z^T u||^2 / (2a). Every bound is valid; the
    smallest is kept:

    - gradient g = Z^T Rt - a W: ``||w - w*|| <= ||g|| / a`` (P is a-strongly convex);
      its gap at u = Rt is ``||g||^2 / (2a)``;
    - gap at u = t Rt with the t maximizing D along Rt: ``||w - w*||^2 <= 2 gap / a``;
    - dual solver: rho = y~ - Z W - a C, the error is Z^T (Z Z^T + a)^-1 rho and
      sigma / (sigma^2 + a) <= 1 / (2 sqrt a), so ``||w - w*|| <= ||rho|| / (2 sqrt a)``;
      and the gap at u = a C.

    A gap evaluated as P - D (a difference of objective values) gets a margin of 16 eps
    times the magnitude of its terms, so rounding never makes a bound optimistic.

    With a = 0 there is no bound: the relative residual ``||g|| / ||Z^T y~||`` is returned
    (``ZtY_norm`` required) and the gap is inf.

    Returns (rel, gap), arrays of shape (k,).
    """
    pos = a > 0
    sa = np.where(pos, a, 1.0)
    ww = _col_dot(W, W)
    rr = _col_dot(Rt, Rt)
    yy = _col_dot(Yt, Yt)
    primal = 0.5 * rr + 0.5 * a * ww
    err = np.full(W.shape[1], np.inf)
    gap = np.full(W.shape[1], np.inf)
    exact = np.zeros(W.shape[1], dtype=bool)
    if ZtRt is not None:
        G = ZtRt - a * W
        gg = _col_dot(G, G)
        exact = gg == 0.0
        err = np.sqrt(gg) / sa
        gap = gg / (2.0 * sa)
        yr = _col_dot(Yt, Rt)
        zz = _col_dot(ZtRt, ZtRt)
        denom = rr + zz / sa
        t = np.where(denom > 0, yr / np.where(denom > 0, denom, 1.0), 0.0)
        dual = yr * t - 0.5 * t * t * rr - 0.5 * t * t * zz / sa
        margin = 16 * _EPS * (yy + rr + a * ww + t * t * denom)
        gap_t = np.maximum(primal - dual, 0.0) + margin
        gap = np.minimum(gap, gap_t)
        err = np.minimum(err, np.sqrt(2.0 * gap_t / sa))
    if C is not None:
        rho = Rt - a * C
        err = np.minimum(err, np.linalg.norm(rho, axis=0) / (2.0 * np.sqrt(sa)))
        d = Yt - a * C
        dd = _col_dot(d, d)
        dual_c = 0.5 * yy - 0.5 * dd - 0.5 * a * ww
        margin = 16 * _EPS * (yy + rr + dd + 2.0 * a * ww)
        gap_c = np.maximum(primal - dual_c, 0.0) + margin
        gap = np.minimum(gap, gap_c)
        err = np.minimum(err, np.sqrt(2.0 * gap_c / sa))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(exact, 0.0, err / np.sqrt(ww))
    if not pos.all():
        g0 = np.linalg.norm(ZtRt - a * W, axis=0)
        rel = np.where(pos, rel, np.where(g0 == 0, 0.0, g0 / np.maximum(ZtY_norm, 1e-300)))
        gap = np.where(pos, gap, np.inf)
    return rel, gap


def certify(rd, Yc, W, a, C=None):
    """Certificate of W recomputed from scratch (one pass over X each way).

    Returns
    -------
    rel : ndarray of shape (k,)
        Certified bound on ||w - w*|| / ||w|| (0 when exact; with a = 0 the relative
        residual ||g|| / ||Z^T y~|| instead, which is not a bound).
    gap : ndarray of shape (k,)
        Best duality gap found for the internal objective ``||y~ - Z w||^2/2 + a||w||^2/2``
        (inf when a = 0).
    """
    Yt = rd.ytilde(Yc)
    Rt = Yt - rd.z(W)
    ZtRt = rd.zt(Rt)
    ZtY_norm = np.linalg.norm(rd.zt(Yt), axis=0) if np.any(a == 0) else None
    return _bounds(Yt, Rt, W, a, ZtRt=ZtRt, C=C, ZtY_norm=ZtY_norm)


def _cheap_rel(gg, W, a, Rho=None, ZtY_norm=None):
    """The bounds of :func:`_bounds` that CG gets for free, from its recurrences.

    ``gg`` = ||g||^2 (gradient bound ||g|| / a) and, with a dual variable, ``Rho`` the
    dual residual (bound ||rho|| / (2 sqrt a), the sharp one in practice). Used to
    decide when to verify: a claim is always confirmed by :func:`_bounds` from scratch.
    """
    pos = a > 0
    sa = np.where(pos, a, 1.0)
    err = np.sqrt(gg) / sa
    if Rho is not None:
        err = np.minimum(err, np.sqrt(_col_dot(Rho, Rho)) / (2.0 * np.sqrt(sa)))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(gg == 0.0, 0.0, err / np.sqrt(_col_dot(W, W)))
        if not pos.all():
            rel = np.where(pos, rel, np.where(gg == 0, 0.0, np.sqrt(gg) / ZtY_norm))
    return rel


# --------------------------------------------------------------------------------------
# Conjugate gradient on the normal equations (primal, p x p)
# --------------------------------------------------------------------------------------


def solve_cg(rd, Yc, a, tol, max_iter, W0=None, C0=None, verbose=0):
    """CG on (Z^T Z + a I) w = Z^T y~ (Z = S^1/2 X_c), all targets at once.

    Each iteration costs one product with X and one with X^T for the whole block of
    targets, plus O((n + p) k). The residual y~ - Z w is tracked alongside the gradient,
    so the certificates of :func:`_bounds` are evaluated at every iteration; a target
    stops when its bound is <= tol *and* the bound recomputed from scratch confirms it
    (a rejected claim restarts CG for that target from the fresh residual).

    From a cold start every iterate is w = Z^T c (the gradient Z^T (y~ - Z w) - a w =
    Z^T (r - a c) lies in the range of Z^T), so c is tracked too, at O(n) per iteration,
    and the sharper dual certificates apply (the dual residual bound is often 10-100x
    tighter than ||g|| / a, so CG stops that many iterations earlier). At a confirmed
    stop, w is recomputed as Z^T c and certified as such. A warm start given as a dual
    variable ``C0`` (w0 = Z^T C0, e.g. the previous alpha's solution along a grid)
    keeps this; one given as coefficients ``W0`` only does not.

    No preconditioner: the Jacobi (column-norm) one was measured to slow CG down on
    text-like data (551 vs 324 iterations on the rcv1 shape at alpha = 1e-3), since it
    lifts the a I floor of the spectrum unevenly.

    Returns (W, C, n_iter, cert), C the dual variables (None after a ``W0`` warm start)
    and cert = (relative error bound, gap) of :func:`_bounds`, each of shape (k,),
    evaluated from scratch on the returned W (and C): what :func:`certify` gives.
    """
    Yt = rd.ytilde(Yc)
    p, k = rd.p, Yt.shape[1]
    track = W0 is None or C0 is not None
    W = np.zeros((p, k)) if W0 is None else np.array(W0, dtype=np.float64, order="C")
    C = None
    if track:
        C = np.zeros_like(Yt) if C0 is None else np.array(C0, dtype=np.float64)
    ZtY_norm = np.linalg.norm(rd.zt(Yt), axis=0) if np.any(a == 0) else np.zeros(k)
    n_iter = np.zeros(k, dtype=np.int64)
    rel_all = np.zeros(k)
    gap_all = np.zeros(k)

    def fresh(cols, Wc, Cc):
        """From scratch: (W, Rt, Z^T Rt), with W = Z^T C when C is tracked."""
        if Cc is not None:
            if np.any(Cc):  # W = Z^T C and Z W in one pass over X
                ZW, Wc = rd.zzt(Cc, want_zt=True)
                Rt = Yt[:, cols] - ZW
            else:
                Wc, Rt = np.zeros((p, cols.size)), Yt[:, cols].copy()
        else:
            Rt = Yt[:, cols] - rd.z(Wc) if np.any(Wc) else Yt[:, cols].copy()
        return Wc, Rt, rd.zt(Rt)

    act = np.arange(k)
    Wa, Ca = W.copy(), (C.copy() if track else None)
    Wa, Rt, ZtRt = fresh(act, Wa, Ca)
    rel, gap = _bounds(Yt, Rt, Wa, a, ZtRt=ZtRt, C=Ca, ZtY_norm=ZtY_norm)
    rel_all[:], gap_all[:] = rel, gap
    W[:] = Wa
    keep = ~(rel <= tol)
    act, Wa, Rt, ZtRt = act[keep], Wa[:, keep], Rt[:, keep], ZtRt[:, keep]
    if track:
        Ca = Ca[:, keep]
    G = ZtRt - a[act] * Wa
    P = G.copy()
    Pi = (Rt - a[act] * Ca) if track else None  # P = Z^T Pi
    gg = _col_dot(G, G)
    it = 0
    while act.size and it < max_iter:
        it += 1
        aa = a[act]
        ZP = rd.z(P)
        Q = rd.zt(ZP)
        Q += aa * P
        pq = _col_dot(P, Q)
        step = np.where(pq > 0, gg / np.where(pq > 0, pq, 1.0), 0.0)
        Wa += step * P
        G -= step * Q
        Rt -= step * ZP
        if track:
            Ca += step * Pi
        n_iter[act] += 1
        gg_new = _col_dot(G, G)
        Rho = Rt - aa * Ca if track else None  # dual residual; P = Z^T Pi needs it too
        rel = _cheap_rel(gg_new, Wa, aa, Rho, ZtY_norm[act])
        restart = np.zeros(act.size, dtype=bool)
        done = np.zeros(act.size, dtype=bool)
        claim = np.flatnonzero(rel <= tol)
        if claim.size:
            Cc = Ca[:, claim] if track else None
            W_c, Rt_c, ZtRt_c = fresh(act[claim], Wa[:, claim], Cc)
            rel_c, gap_c = _bounds(Yt[:, act[claim]], Rt_c, W_c, aa[claim], ZtRt=ZtRt_c,
                                   C=Cc, ZtY_norm=ZtY_norm[act[claim]])
            ok = rel_c <= tol
            rel_all[act[claim]], gap_all[act[claim]] = rel_c, gap_c
            done[claim[ok]] = True
            bad = claim[~ok]
            Wa[:, claim] = W_c
            if bad.size:  # restart these from their fresh residuals
                Rt[:, bad] = Rt_c[:, ~ok]
                G[:, bad] = ZtRt_c[:, ~ok] - aa[bad] * Wa[:, bad]
                gg_new[bad] = _col_dot(G[:, bad], G[:, bad])
                if track:
                    Rho[:, bad] = Rt[:, bad] - aa[bad] * Ca[:, bad]
                restart[bad] = True
        if verbose:
            print(f"[fastsparse.ridge] cg iter {it:5d}  max bound {np.max(rel):.3e}  "
                  f"active {act.size}")
        if done.any():
            W[:, act[done]] = Wa[:, done]
            if track:
                C[:, act[done]] = Ca[:, done]
            keep = ~done
            act, Wa, Rt, G, P, gg, gg_new, restart = (
                act[keep], Wa[:, keep], Rt[:, keep], G[:, keep], P[:, keep], gg[keep],
                gg_new[keep], restart[keep])
            if track:
                Ca, Pi, Rho = Ca[:, keep], Pi[:, keep], Rho[:, keep]
            if not act.size:
                break
        beta = np.where((gg > 0) & ~restart, gg_new / np.where(gg > 0, gg, 1.0), 0.0)
        P *= beta
        P += G
        if track:
            Pi *= beta
            Pi += Rho
        gg = gg_new
    if act.size:  # max_iter reached: certify what there is, from scratch
        Wa, Rt, ZtRt = fresh(act, Wa, Ca)
        rel_c, gap_c = _bounds(Yt[:, act], Rt, Wa, a[act], ZtRt=ZtRt, C=Ca,
                               ZtY_norm=ZtY_norm[act])
        rel_all[act], gap_all[act] = rel_c, gap_c
        W[:, act] = Wa
        if track:
            C[:, act] = Ca
    return W, C, n_iter, (rel_all, gap_all)


# --------------------------------------------------------------------------------------
# Dual: the n x n kernel system
# --------------------------------------------------------------------------------------


def solve_dual_cr(rd, Yc, a, tol, max_iter, W0=None, C0=None, verbose=0):
    """Conjugate residuals on (Z Z^T + a I) c = y~, w = Z^T c (Z = S^1/2 X_c).

    All targets at once. Two choices make this the fastest certified solver measured
    when n_features >= n_samples (rcv1 and news20 shapes):

    - **One pass over X per iteration.** ``Z Z^T r`` is one fused gather-scatter pass
      (:meth:`RidgeData.zzt`); CG on the normal equations (:func:`solve_cg`) needs
      ``Z p`` then ``Z^T (Z p)``, two passes. The vectors have n entries, and w = Z^T c
      is not formed during the iterations: the stopping test needs ||w||^2 =
      c^T (Z Z^T c), and ``Z Z^T c`` is updated from the products, so it costs O(n k).
    - **Conjugate residuals (CR), not CG.** The certificate of a dual iterate is its
      residual, ``||w - w*|| <= ||rho|| / (2 sqrt a)`` (:func:`_bounds`), and CR picks
      the iterate of the Krylov space with the smallest ||rho|| (it is MINRES for a
      symmetric positive definite system), at the same cost per iteration as CG. CG's
      residual overshoots: on the rcv1 shape at alpha = 1e-3 its bound was 10x its true
      error, CR's 2x, and CR certified tol = 1e-4 in 282 iterations, CG in 315.

    A target whose bound ``||rho|| / (2 sqrt a) <= tol ||w||`` claims convergence; the
    claim is checked from scratch by one fused pass giving W = Z^T C and Z W, and a
    rejected claim restarts the recurrences from the fresh residual. Requires a > 0.
    A warm start is a dual variable ``C0`` (w0 = Z^T C0), or coefficients W0 mapped to
    c0 = (y~ - Z W0) / a, the dual optimum when W0 is optimal.

    No preconditioner: the diagonal of Z Z^T holds the squared norms of the rows, all
    about 1 for the L2-normalized rows of text data (Jacobi changes nothing), and a
    randomized Nystrom preconditioner of rank 50-500 cut the iterations by only 6-30% on
    the rcv1 shape at alpha = 1e-3 (its spectrum is flat: the 500th eigenvalue of
    X_c X_c^T is 1.3, the largest 62, and most of the 20 k lie between 0 and 1), for a
    setup costing more than the iterations it saved.

    Returns
    -------
    W : ndarray of shape (p, k)
        Z^T C, recomputed from scratch.
    C : ndarray of shape (n, k)
    n_iter : ndarray of shape (k,)
    cert : tuple of two ndarrays of shape (k,)
        (relative error bound, gap) of :func:`_bounds`, evaluated from scratch on the
        returned W and C (what :func:`certify` would give without the gradient bound).
    """
    Yt = rd.ytilde(Yc)
    n, k = Yt.shape
    if C0 is not None:
        C = np.array(C0, dtype=np.float64)
    elif W0 is not None:
        C = (Yt - rd.z(W0)) / a
    else:
        C = np.zeros_like(Yt)
    out = {}  # "W": coefficients (p, k), allocated when a first target finishes
    rel_all = np.zeros(k)
    gap_all = np.zeros(k)
    n_iter = np.zeros(k, dtype=np.int64)

    def fresh(Cc):
        """(W = Z^T Cc, Z W) from scratch, in one pass over X."""
        if not np.any(Cc):
            return np.zeros((rd.p, Cc.shape[1])), np.zeros_like(Cc)
        ZW, Wc = rd.zzt(Cc, want_zt=True)
        return Wc, ZW

    def finish(cols, Wc, Cc, rel, gap):
        if not cols.size:
            return
        if "W" not in out:
            if cols.size == k:  # every target at once (always for one target): no copy
                out["W"] = np.ascontiguousarray(Wc)
            else:
                out["W"] = np.zeros((rd.p, k))
        if out["W"] is not Wc:
            out["W"][:, cols] = Wc
        C[:, cols] = Cc
        rel_all[cols] = rel
        gap_all[cols] = gap

    # A zero target has the exact solution w = c = 0.
    zero = ~np.any(Yt, axis=0)
    C[:, zero] = 0.0
    act = np.flatnonzero(~zero)
    Ca = C[:, act]
    Wa, KC = fresh(Ca)
    Rt = Yt[:, act] - KC
    rel, gap = _bounds(Yt[:, act], Rt, Wa, a[act], C=Ca)
    ok = rel <= tol
    finish(act[ok], Wa[:, ok], Ca[:, ok], rel[ok], gap[ok])
    keep = ~ok
    act, Ca, KC, Rt = act[keep], Ca[:, keep], KC[:, keep], Rt[:, keep]
    del Wa
    Rho = Rt - a[act] * Ca  # residual of the dual system
    ARho = rd.zzt(Rho)[0] + a[act] * Rho if act.size else Rho.copy()
    P, AP = Rho.copy(), ARho.copy()
    rAr = _col_dot(Rho, ARho)
    pp = _col_dot(AP, AP)
    it = 0
    while act.size and it < max_iter:
        it += 1
        aa = a[act]
        step = np.where(pp > 0, rAr / np.where(pp > 0, pp, 1.0), 0.0)
        # C += step P, Rho -= step AP, KC += step (AP - a P) (Z Z^T P = A P - a P), and
        # ||w||^2 = c^T Z Z^T c from the tracked Z Z^T c: the dual-residual bound for free.
        ww, rr = np.zeros(act.size), np.zeros(act.size)
        for t in range(act.size):
            ww[t], rr[t] = cr_advance(step[t], aa[t], P[:, t], AP[:, t], Ca[:, t],
                                      Rho[:, t], KC[:, t])
        ww = np.maximum(ww, 0.0)
        n_iter[act] += 1
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.sqrt(rr) / (2.0 * np.sqrt(aa)) / np.sqrt(ww)
        restart = np.zeros(act.size, dtype=bool)
        done = np.zeros(act.size, dtype=bool)
        claim = np.flatnonzero(rel <= tol)
        if claim.size:
            cols = act[claim]
            W_c, ZW_c = fresh(Ca[:, claim])
            Rt_c = Yt[:, cols] - ZW_c
            rel_c, gap_c = _bounds(Yt[:, cols], Rt_c, W_c, aa[claim], C=Ca[:, claim])
            ok = rel_c <= tol
            finish(cols[ok], W_c[:, ok], Ca[:, claim[ok]], rel_c[ok], gap_c[ok])
            done[claim[ok]] = True
            bad = claim[~ok]
            if bad.size:  # restart these from their fresh residuals
                Rho[:, bad] = Rt_c[:, ~ok] - aa[bad] * Ca[:, bad]
                KC[:, bad] = ZW_c[:, ~ok]
                restart[bad] = True
        if verbose:
            print(f"[fastsparse.ridge] dual cr iter {it:5d}  max bound {np.max(rel):.3e}"
                  f"  active {act.size}")
        if done.any():
            keep = ~done
            act, Ca, KC, Rho, P, AP, rAr, restart = (
                act[keep], Ca[:, keep], KC[:, keep], Rho[:, keep], P[:, keep],
                AP[:, keep], rAr[keep], restart[keep])
            if not act.size:
                break
            aa = a[act]
        ARho = rd.zzt(Rho)[0]
        # ARho += a Rho; beta = (Rho^T A Rho) / rAr (0 on restart); P = beta P + Rho,
        # AP = beta AP + A Rho; and the next step's Rho^T A Rho and ||AP||^2.
        pp = np.empty(act.size)
        for t in range(act.size):
            rAr[t], pp[t] = cr_new_direction(aa[t], Rho[:, t], ARho[:, t], P[:, t], AP[:, t],
                                             rAr[t], restart[t])
    if act.size:  # max_iter reached: certify what there is, from scratch
        W_c, ZW_c = fresh(Ca)
        rel_c, gap_c = _bounds(Yt[:, act], Yt[:, act] - ZW_c, W_c, a[act], C=Ca)
        finish(act, W_c, Ca, rel_c, gap_c)
    W = out["W"] if "W" in out else np.zeros((rd.p, k))  # all targets zero
    return W, C, n_iter, (rel_all, gap_all)


def shifted_design(rd):
    """(U, ubar) with X_c = U - 1 ubar^T, U float64 CSC: the direct solvers' input.

    U is X with the columns the products center explicitly (stored in every row) already
    centered, and the constant columns (zero centered norm) zeroed, so that the dense
    matrices below are formed without the cancellation of ``X^T S X - n xbar xbar^T``
    (a column of timestamps: mean 1.7e9, small spread) and match the products of
    :class:`RidgeData` exactly. ubar is xbar for the other columns and 0 for these. A
    copy of X's values is made only when some column needs it (float32 X is converted
    to float64 anyway).
    """
    X = rd.X if rd.X.dtype == np.float64 else rd.X.astype(np.float64)
    explicit, zero = rd.kind == KIND_EXPLICIT, rd.kind == KIND_ZERO
    ubar = np.where(explicit | zero, 0.0, rd.xbar)
    if not (explicit.any() or zero.any()):
        return X, ubar
    counts = np.diff(X.indptr)
    data = X.data - np.repeat(np.where(explicit, rd.xbar, 0.0), counts)  # a new array
    data[np.repeat(zero, counts)] = 0.0
    U = sp.csc_matrix((data, X.indices, X.indptr), shape=X.shape)
    return U, ubar


def kernel_matrix(rd):
    """Dense Z Z^T = S^1/2 X_c X_c^T S^1/2 (n x n), from the sparse product U U^T."""
    X, ubar = shifted_design(rd)
    Kmat = (X @ X.T).toarray()
    if rd.fit_intercept:
        u = np.asarray(X @ ubar).ravel()
        Kmat -= u[:, None]
        Kmat -= u[None, :]
        Kmat += ubar @ ubar
    if rd.weighted:
        Kmat *= rd.sqrt_sw[:, None]
        Kmat *= rd.sqrt_sw[None, :]
    return Kmat


def covariance_matrix(rd):
    """Dense Z^T Z = X_c^T S X_c (p x p), from the sparse product U^T S U."""
    X, ubar = shifted_design(rd)
    Xw = X if not rd.weighted else sp.csc_matrix(X.multiply(rd.sw[:, None]))
    C = (X.T @ Xw).toarray()
    if rd.fit_intercept:
        C -= rd.n * np.outer(ubar, ubar)
    return C


def _solve_spd(M, a, B):
    """(M + a I)^-1 B by Cholesky, one factorization per distinct a (shape (k,))."""
    out = np.empty_like(B)
    diag = np.arange(M.shape[0])
    with blas_limit(M.shape[0]):
        for val in np.unique(a):
            cols = np.flatnonzero(a == val)
            M2 = M.copy()
            M2[diag, diag] += val
            factor = la.cho_factor(M2, lower=True, overwrite_a=True, check_finite=False)
            out[:, cols] = la.cho_solve(factor, B[:, cols], check_finite=False)
    return out


def solve_dual_direct(rd, Yc, a):
    """Cholesky of the n x n kernel: c = (Z Z^T + a I)^-1 y~, w = Z^T c. Returns (W, C)."""
    C = _solve_spd(kernel_matrix(rd), a, rd.ytilde(Yc))
    return rd.zt(C), C


def solve_primal_direct(rd, Yc, a):
    """Cholesky of the p x p system (Z^T Z + a I) w = Z^T y~."""
    return _solve_spd(covariance_matrix(rd), a, rd.zt(rd.ytilde(Yc)))


# --------------------------------------------------------------------------------------
# Coordinate descent: the shared elastic-net core with l1_ratio = 0
# --------------------------------------------------------------------------------------


def solve_cd(rd, Y, a, tol, max_iter, W0=None, positive=False, verbose=0):
    """Coordinate descent of :func:`fastsparse._solver.solve_enet` with l1_ratio = 0.

    The elastic net's ``alpha`` is ``a / n`` (see the module docstring). ``solve_enet``
    stops on its duality gap relative to the null deviance; the gap needed for a
    coefficient error of ``tol * ||w||`` is ``tol^2 a ||w||^2 / 2`` (strong convexity),
    which depends on the unknown ||w||, so the solve is repeated, warm-started, with the
    gap tolerance updated from the current ||w|| until the certificate holds. The
    certificate tested is the gradient bound of :func:`certify` (mathematically the same
    as the gap, ``gap = ||g||^2 / (2a)``, but computed without the cancellation of
    ``primal - dual``, which floors the gap near ``1e-16 * primal``, i.e. a relative
    coefficient error near 1e-8); with ``positive`` the gap itself.

    ``Y`` is the raw (uncentered) target block; the intercept is handled by the core.
    Returns (W, intercepts, gaps, n_epochs, bounds): gaps are the core's certificates
    (divided by n, the elastic-net scale).
    """
    n, p = rd.n, rd.p
    k = Y.shape[1]
    W = np.zeros((p, k))
    b = np.zeros(k)
    gaps = np.zeros(k)
    bounds = np.zeros(k)
    epochs = np.zeros(k, dtype=np.int64)
    all_cols = np.arange(p)
    Yc, _ = rd.center_targets(Y)
    for t in range(k):
        pb = prepare_problem(rd.X, np.ascontiguousarray(Y[:, t], dtype=np.float64), rd.sw,
                             rd.fit_intercept)
        alpha_e = a[t] / n
        w = None if W0 is None else np.array(W0[:, t], dtype=np.float64)
        null = pb.null_deviance
        tol_e = 1e-3
        if w is not None and null > 0:
            tol_e = min(tol_e, 0.25 * tol ** 2 * a[t] * (w @ w) / null)
        for rep in range(12):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = solve_enet(rd.X, pb, alpha_e, 0.0, None, positive=positive,
                                 tol=tol_e, max_iter=100, max_epochs=max_iter,
                                 w_init=w, ws_init=all_cols, verbose=verbose)
            w = res.coef
            epochs[t] += res.n_epochs
            wnorm = np.linalg.norm(w)
            if positive:
                gap_n = res.dual_gap * n
                err = np.sqrt(2 * gap_n / a[t])
                # ||w|| = 0 with a positive gap (an intermediate iterate): no relative
                # bound yet (inf, without numpy's divide-by-zero warning).
                bound = 0.0 if err == 0 else (err / wnorm if wnorm > 0 else np.inf)
            else:
                bound = certify(rd, Yc[:, t:t + 1], w[:, None], a[t:t + 1])[0][0]
            if bound <= tol or null == 0.0 or (rep > 0 and res.n_epochs == 0):
                break
            need = 0.5 * tol ** 2 * a[t] * wnorm ** 2
            tol_e = min(0.1 * tol_e, 0.5 * need / null)
        W[:, t] = w
        b[t] = res.intercept
        gaps[t] = res.dual_gap
        bounds[t] = bound
    return W, b, gaps, epochs, bounds


# --------------------------------------------------------------------------------------
# Eigendecompositions for a grid of alphas (RidgeCV, K-fold paths)
# --------------------------------------------------------------------------------------


class EigenSolver:
    """One eigendecomposition of the smaller Gram side, then any alpha in O(m^2 k).

    ``side="primal"``: Z^T Z = V L V^T, w(a) = V (L + a)^-1 V^T Z^T y~.
    ``side="dual"``: Z Z^T = V L V^T, c(a) = V (L + a)^-1 V^T y~, w = Z^T c.
    """

    def __init__(self, rd, Yc, side):
        self.rd, self.side = rd, side
        Yt = rd.ytilde(Yc)
        M = covariance_matrix(rd) if side == "primal" else kernel_matrix(rd)
        with blas_limit(M.shape[0]):
            lam, self.V = la.eigh(M, check_finite=False)
        self.VtB = self.V.T @ (rd.zt(Yt) if side == "primal" else Yt)
        self.lam = np.maximum(lam, 0.0)

    def coef(self, a):
        """Coefficients (p, k) for internal alphas ``a`` of shape (k,)."""
        M = self.V @ (self.VtB / (self.lam[:, None] + a[None, :]))
        return M if self.side == "primal" else self.rd.zt(M)
