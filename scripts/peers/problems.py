"""Problem: data, alpha_max and the script's own duality gap."""

import numpy as np

#: Presets whose default target is the +-1 labels used as a regression target, the way
#: the celer and skglm papers benchmark the Lasso on rcv1 and news20.
_LABEL_PRESETS = ("rcv1", "news20", "url")


def default_target(preset):
    """Target kind used when ``--target`` is not given.

    Parameters
    ----------
    preset : str
        Name of a :data:`fastsparse.datasets.PRESETS` entry.

    Returns
    -------
    target : {"labels", "regression"}
        ``"labels"`` for the classification-shaped presets, else ``"regression"``.
    """
    return "labels" if preset in _LABEL_PRESETS else "regression"


def load_problem(preset, target, cache_dir=None):
    """Load a preset from the disk cache and build the regression target.

    Parameters
    ----------
    preset : str
        Name of a :data:`fastsparse.datasets.PRESETS` entry.
    target : {"regression", "labels"}
        ``"labels"`` uses the classification labels mapped from {0, 1} to {-1, +1} as a
        least-squares target.
    cache_dir : str or path-like, default=None
        Cache directory of :func:`fastsparse.datasets.fetch_preset`.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Target.
    """
    from fastsparse.datasets import fetch_preset

    task = "classification" if target == "labels" else "regression"
    X, y, _ = fetch_preset(preset, task, cache_dir=cache_dir)
    if target == "labels":
        y = 2.0 * y - 1.0
    return X, np.asarray(y, dtype=np.float64)


def matrix_nbytes(X):
    """Bytes held by the ``data``, ``indices`` and ``indptr`` arrays of a CSC matrix."""
    return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)


def alpha_max(X, y, l1_ratio=1.0, fit_intercept=True):
    """Smallest ``alpha`` for which all coefficients are zero.

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix. It is never densified or centered.
    y : ndarray of shape (n_samples,)
        Target.
    l1_ratio : float, default=1.0
        Share of the L1 penalty, in (0, 1].
    fit_intercept : bool, default=True
        Whether the intercept is fitted, i.e. whether X and y are implicitly centered.

    Returns
    -------
    alpha_max : float
        ``||X_c^T y_c||_inf / (n * l1_ratio)``.
    """
    n = X.shape[0]
    y = np.asarray(y, dtype=np.float64)
    grad = np.asarray(X.T @ y, dtype=np.float64).ravel()
    if fit_intercept:
        # X_c^T y_c = X^T y - xbar * sum(y): the centered product from the sparse one.
        xbar = np.asarray(X.sum(axis=0), dtype=np.float64).ravel() / n
        grad -= xbar * y.sum()
    return float(np.max(np.abs(grad)) / (n * l1_ratio))


def primal_dual(X, y, coef, intercept, alpha, l1_ratio=1.0, fit_intercept=True):
    """Primal and dual objective values of a returned solution.

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix, never densified.
    y : ndarray of shape (n_samples,)
        Target.
    coef : array-like of shape (n_features,)
        Returned coefficients.
    intercept : float
        Returned intercept (ignored by the dual when ``fit_intercept=False``).
    alpha : float
        Regularization strength.
    l1_ratio : float, default=1.0
        Share of the L1 penalty, in (0, 1].
    fit_intercept : bool, default=True
        Whether the intercept was fitted.

    Returns
    -------
    primal : float
        ``1/(2n) ||y - Xw - b||^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)``
        with the returned ``b``.
    dual : float
        Dual objective (also divided by n) at the dual point built from the residual.

    Notes
    -----
    With an intercept the dual point must sum to zero, so the residual is centered; this
    also makes ``X^T theta`` equal to the centered product, so no centering of X is needed.
    For the Lasso the point is rescaled into the dual feasible set and
    ``D = (||y_c||^2 - ||y_c - theta||^2) / (2n)``. For the elastic net the conjugate of the
    penalty is finite everywhere, so no rescaling is needed and
    ``D = (||y_c||^2 - ||y_c - theta||^2) / (2n)
    - sum_j max(|x_j^T theta| - n alpha rho, 0)^2 / (2 n^2 alpha (1 - rho))``,
    the Lasso dual of the augmented design of DESIGN.md section 2 after optimizing out the
    extra dual coordinates.
    """
    n = X.shape[0]
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(coef, dtype=np.float64).ravel()
    residual = y - np.asarray(X @ w, dtype=np.float64).ravel() - float(intercept)
    penalty = l1_ratio * np.abs(w).sum() + 0.5 * (1.0 - l1_ratio) * (w @ w)
    primal = 0.5 * (residual @ residual) / n + alpha * penalty

    if fit_intercept:
        theta = residual - residual.mean()
        y_c = y - y.mean()
    else:
        theta = residual
        y_c = y
    correlations = np.asarray(X.T @ theta, dtype=np.float64).ravel()
    lam_l1 = n * alpha * l1_ratio
    if l1_ratio >= 1.0:
        scale = max(1.0, np.max(np.abs(correlations), initial=0.0) / lam_l1)
        theta = theta / scale
        conjugate = 0.0
    else:
        excess = np.maximum(np.abs(correlations) - lam_l1, 0.0)
        conjugate = (excess @ excess) / (2.0 * n * alpha * (1.0 - l1_ratio))
    diff = y_c - theta
    dual = 0.5 * ((y_c @ y_c) - (diff @ diff)) / n - conjugate / n
    return float(primal), float(dual)


def relative_gap(X, y, coef, intercept, alpha, l1_ratio=1.0, fit_intercept=True):
    """Relative duality gap ``(P - D) / P`` of a returned solution.

    Computed independently of the solver that produced ``coef``, from the residual only:
    see :func:`primal_dual` for the formulas. Parameters are those of :func:`primal_dual`.

    Returns
    -------
    gap : float
        Relative duality gap, an upper bound on the relative suboptimality
        ``(P - P*) / P``. Values of about ``-1e-16`` are round-off of an exact solution.
    """
    primal, dual = primal_dual(X, y, coef, intercept, alpha, l1_ratio, fit_intercept)
    if primal <= 0.0:
        return 0.0
    return (primal - dual) / primal
