"""Independent references for tests: objective, duality gap and KKT checks in plain numpy.

Written against the formulas of DESIGN.md with dense, explicitly centered matrices, so
they share no code with the solver.
"""

import numpy as np
import scipy.sparse as sp


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)


def _weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n)
    s = np.asarray(sample_weight, dtype=np.float64)
    return s * (n / s.sum())


def objective(X, y, coef, intercept, alpha, l1_ratio=1.0, sample_weight=None,
              penalty_factor=None):
    """The elastic-net objective 1/(2n) sum s r^2 + alpha sum v (rho|w| + (1-rho)/2 w^2)."""
    X = _dense(X).astype(np.float64)
    n, p = X.shape
    s = _weights(sample_weight, n)
    v = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, float)
    w = np.asarray(coef, dtype=np.float64)
    r = y - X @ w - intercept
    pen = alpha * np.sum(v * (l1_ratio * np.abs(w) + 0.5 * (1 - l1_ratio) * w ** 2))
    return 0.5 * np.sum(s * r ** 2) / n + pen


def centered(X, y, sample_weight, fit_intercept):
    """Weighted-centered dense design and target (the problem the intercept reduces to)."""
    X = _dense(X).astype(np.float64)
    n = X.shape[0]
    s = _weights(sample_weight, n)
    if fit_intercept:
        X = X - (s @ X) / n
        y = y - (s @ y) / n
    return X, np.asarray(y, dtype=np.float64), s


def duality_gap(X, y, coef, alpha, l1_ratio=1.0, sample_weight=None, fit_intercept=True,
                penalty_factor=None, positive=False):
    """Duality gap (objective divided by n) of coef, from the conjugate dual.

    The dual point is theta = t * r with t the largest value <= 1 making theta feasible
    for the pure-L1 features (as described in DESIGN.md section 2). The intercept is
    the optimal one for coef (implied by centering).
    """
    Xc, yc, s = centered(X, y, sample_weight, fit_intercept)
    n, p = Xc.shape
    v = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, float)
    lam = n * alpha
    l1 = lam * l1_ratio * v
    l2 = lam * (1 - l1_ratio) * v
    w = np.asarray(coef, dtype=np.float64)
    r = yc - Xc @ w
    g = Xc.T @ (s * r)
    gs = g if positive else np.abs(g)
    pure_l1 = (l2 == 0) & (l1 > 0)
    t = 1.0
    if pure_l1.any():
        ratio = gs[pure_l1] / l1[pure_l1]
        t = min(1.0, 1.0 / ratio.max()) if ratio.max() > 0 else 1.0
    u = t * gs
    conj = np.zeros(p)
    has_l2 = l2 > 0
    conj[has_l2] = np.maximum(u[has_l2] - l1[has_l2], 0) ** 2 / (2 * l2[has_l2])
    primal = 0.5 * np.sum(s * r ** 2) + np.sum(l1 * np.abs(w) + 0.5 * l2 * w ** 2)
    dual = 0.5 * np.sum(s * yc ** 2) - 0.5 * np.sum(s * (yc - t * r) ** 2) - conj.sum()
    return (primal - dual) / n


def kkt_violation(X, y, coef, alpha, l1_ratio=1.0, sample_weight=None, fit_intercept=True,
                  penalty_factor=None, positive=False):
    """Largest violation of the optimality conditions, in units of alpha.

    With g_j = x_j^T (s r) / n - alpha (1 - rho) v_j w_j: |g_j| <= alpha rho v_j where
    w_j = 0 (only g_j <= alpha rho v_j if positive) and g_j = alpha rho v_j sign(w_j)
    where w_j != 0.
    """
    Xc, yc, s = centered(X, y, sample_weight, fit_intercept)
    n, p = Xc.shape
    v = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, float)
    w = np.asarray(coef, dtype=np.float64)
    g = Xc.T @ (s * (yc - Xc @ w)) / n - alpha * (1 - l1_ratio) * v * w
    bound = alpha * l1_ratio * v
    zero = w == 0
    viol = np.zeros(p)
    if positive:
        viol[zero] = np.maximum(g[zero] - bound[zero], 0)
    else:
        viol[zero] = np.maximum(np.abs(g[zero]) - bound[zero], 0)
    viol[~zero] = np.abs(g[~zero] - bound[~zero] * np.sign(w[~zero]))
    return viol.max() / max(alpha, 1e-300)


def alpha_max(X, y, l1_ratio=1.0, sample_weight=None, fit_intercept=True):
    """Smallest alpha for which w = 0 is optimal (all penalty factors 1)."""
    Xc, yc, s = centered(X, y, sample_weight, fit_intercept)
    n = Xc.shape[0]
    return np.abs(Xc.T @ (s * yc)).max() / (n * l1_ratio)


def gap_from_dual_point(X, y, coef, theta, alpha, l1_ratio=1.0, sample_weight=None,
                        fit_intercept=True, penalty_factor=None, positive=False):
    """P(coef) - D(theta) / n for a given dual point, after checking it is feasible.

    theta is in the n-scaled convention (the optimal theta is the residual). Raises
    AssertionError if theta violates a dual constraint (beyond rounding).
    """
    Xc, yc, s = centered(X, y, sample_weight, fit_intercept)
    n, p = Xc.shape
    v = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, float)
    lam = n * alpha
    l1 = lam * l1_ratio * v
    l2 = lam * (1 - l1_ratio) * v
    w = np.asarray(coef, dtype=np.float64)
    u = Xc.T @ (s * theta)
    us = u if positive else np.abs(u)
    scale = np.abs(Xc).sum(axis=0) * np.abs(theta).max() + 1.0
    pure_l1 = (l2 == 0) & (l1 > 0)
    assert np.all(us[pure_l1] <= l1[pure_l1] + 1e-9 * scale[pure_l1]), "infeasible theta"
    free = (l1 == 0) & (l2 == 0)
    assert np.all(np.abs(u[free]) <= 1e-9 * scale[free]), "theta not orthogonal to free"
    if fit_intercept:
        assert abs(np.sum(s * theta)) <= 1e-9 * np.abs(theta).sum() + 1e-12
    has_l2 = l2 > 0
    conj = np.sum(np.maximum(us[has_l2] - l1[has_l2], 0) ** 2 / (2 * l2[has_l2]))
    r = yc - Xc @ w
    primal = 0.5 * np.sum(s * r ** 2) + np.sum(l1 * np.abs(w) + 0.5 * l2 * w ** 2)
    dual = 0.5 * np.sum(s * yc ** 2) - 0.5 * np.sum(s * (yc - theta) ** 2) - conj
    return (primal - dual) / n
