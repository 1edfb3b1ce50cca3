"""Pictures of regularization paths and cross-validation curves (glmnet style).

matplotlib is imported only when a function here is called, so ``import fastsparse``
never needs it; install it with ``pip install matplotlib`` (or ``fastsparse[plot]``).
Both functions draw on a given Axes (or a new figure) and return the Axes.
"""

import numpy as np
import scipy.sparse as sp

from ._validation import check_bool_param

__all__ = ["plot_cv", "plot_path"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "fastsparse.plotting needs matplotlib, which is not installed. Install it with "
            "`pip install matplotlib` (or `pip install fastsparse[plot]`)."
        ) from exc
    return plt


def _new_axes(ax):
    if ax is not None:
        return ax
    plt = _pyplot()
    _, ax = plt.subplots()
    return ax


def plot_path(alphas, coefs, feature_names=None, ax=None, *, n_labels=10,
              show_nonzero=True, max_lines=1000, **line_kw):
    """Coefficients against alpha (log scale), one line per feature that is ever non-zero.

    Like glmnet's ``plot(fit, xvar="lambda")``: alpha on a log axis, increasing to the
    right, the number of non-zero coefficients along the top, and the features with the
    largest coefficients at the smallest alpha labelled at the left end of their line.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,)
        Alphas of the path (e.g. from :func:`fastsparse.enet_path`).
    coefs : ndarray or scipy.sparse matrix of shape (n_features, n_alphas)
        Coefficients along the path. Sparse matrices are read without densifying: only
        the rows of features that are non-zero somewhere are drawn.
    feature_names : sequence of str, default=None
        Names used in labels; feature indices when None.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    n_labels : int, default=10
        Number of features labelled (largest |coefficient| at the smallest alpha).
    show_nonzero : bool, default=True
        Show the number of non-zero coefficients on a secondary top axis.
    max_lines : int, default=1000
        Draw at most this many features (those with the largest |coefficient| anywhere
        on the path), to keep huge paths drawable.
    **line_kw
        Passed to ``Axes.plot`` for every line.

    Returns
    -------
    ax : matplotlib Axes
    """
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    if sp.issparse(coefs):
        C = sp.csr_matrix(coefs)
        if C.shape[1] != alphas.size:
            raise ValueError(f"coefs has {C.shape[1]} columns but there are "
                             f"{alphas.size} alphas.")
        rows = np.flatnonzero(np.diff(C.indptr))
        nnz_per_alpha = np.bincount(C.indices, minlength=alphas.size)
        values = C[rows].toarray()
    else:
        C = np.asarray(coefs)
        if C.ndim != 2 or C.shape[1] != alphas.size:
            raise ValueError(f"coefs must have shape (n_features, {alphas.size}), got "
                             f"{C.shape}.")
        rows = np.flatnonzero(np.any(C != 0, axis=1))
        nnz_per_alpha = np.count_nonzero(C, axis=0)
        values = C[rows]
    values = np.asarray(values, dtype=np.float64)
    if rows.size > max_lines:
        keep = np.argsort(-np.abs(values).max(axis=1), kind="stable")[:max_lines]
        keep.sort()
        rows, values = rows[keep], values[keep]
    show_nonzero = check_bool_param(show_nonzero, "show_nonzero")
    ax = _new_axes(ax)
    positive = alphas > 0
    x = alphas[positive]
    for i in range(rows.size):
        ax.plot(x, values[i, positive], **line_kw)
    ax.set_xscale("log")
    ax.axhline(0.0, color="0.6", linewidth=0.8, zorder=0)
    ax.set_xlabel("alpha (log scale)")
    ax.set_ylabel("coefficients")
    if n_labels and rows.size and x.size:
        i_min = int(np.argmin(x))
        last = values[:, positive][:, i_min]
        top = np.argsort(-np.abs(last), kind="stable")[:n_labels]
        for i in top:
            if last[i] == 0:
                continue
            j = rows[i]
            name = str(feature_names[j]) if feature_names is not None else str(j)
            ax.annotate(name, (x[i_min], last[i]), xytext=(-3, 0),
                        textcoords="offset points", ha="right", va="center", fontsize=8)
    if show_nonzero and x.size:
        top_ax = ax.secondary_xaxis("top")
        ticks = x[np.unique(np.linspace(0, x.size - 1, min(x.size, 6)).round().astype(int))]
        counts = nnz_per_alpha[positive]
        labels = [str(counts[np.flatnonzero(x == t)[0]]) for t in ticks]
        top_ax.set_xticks(ticks, labels=labels)
        top_ax.set_xlabel("non-zero coefficients")
    return ax


def plot_cv(cv_estimator, ax=None, *, show_1se=True):
    """Mean cross-validated MSE against alpha, with one-standard-error bars.

    Like glmnet's ``plot(cv.glmnet(...))``: mean held-out MSE over folds with error bars
    of one standard error (std over folds / sqrt(n_folds)), and vertical lines at
    ``alpha_min_`` (smallest mean error) and ``alpha_1se_`` (largest alpha within one
    standard error of it). For an :class:`~fastsparse.ElasticNetCV` over several
    l1_ratios, the curve of the selected ``l1_ratio_`` is drawn.

    Parameters
    ----------
    cv_estimator : fitted LassoCV or ElasticNetCV
        Also works with scikit-learn's ``LassoCV``/``ElasticNetCV`` (no 1se line then).
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    show_1se : bool, default=True
        Mark ``alpha_1se_`` too.

    Returns
    -------
    ax : matplotlib Axes
    """
    if not hasattr(cv_estimator, "mse_path_"):
        raise ValueError("plot_cv needs a fitted cross-validation estimator (with "
                         "mse_path_ and alphas_); call fit first.")
    mse = np.asarray(cv_estimator.mse_path_, dtype=np.float64)
    alphas = np.asarray(cv_estimator.alphas_, dtype=np.float64)
    if mse.ndim == 3:
        ratios = np.atleast_1d(np.asarray(cv_estimator.l1_ratio, dtype=np.float64))
        l_idx = int(np.flatnonzero(ratios == cv_estimator.l1_ratio_)[0])
        mse = mse[l_idx]
        if alphas.ndim == 2:
            alphas = alphas[l_idx]
    if mse.ndim == 1:
        mse = mse[:, np.newaxis]
    n_folds = mse.shape[1]
    mean = mse.mean(axis=1)
    se = mse.std(axis=1, ddof=1) / np.sqrt(n_folds) if n_folds > 1 else np.zeros_like(mean)
    show_1se = check_bool_param(show_1se, "show_1se")
    ax = _new_axes(ax)
    ax.errorbar(alphas, mean, yerr=se, fmt="o", color="tab:red", ecolor="0.6",
                markersize=3, capsize=2, label="mean CV MSE")
    ax.set_xscale("log")
    selected = cv_estimator.alpha_
    alpha_min = getattr(cv_estimator, "alpha_min_", selected)
    mark = " (alpha_)"
    ax.axvline(alpha_min, color="k", linestyle="--", linewidth=1,
               label=f"alpha_min = {alpha_min:.3g}"
               + (mark if alpha_min == selected else ""))
    if show_1se and hasattr(cv_estimator, "alpha_1se_"):
        a1 = cv_estimator.alpha_1se_
        ax.axvline(a1, color="k", linestyle=":", linewidth=1,
                   label=f"alpha_1se = {a1:.3g}"
                   + (mark if a1 == selected and a1 != alpha_min else ""))
    ax.set_xlabel("alpha (log scale)")
    ax.set_ylabel("mean squared error")
    ax.legend(fontsize=8)
    return ax
