"""Cross-validated L1 / elastic-net logistic regression: ``LogisticRegressionCV``.

How a fold is fitted without copying X
--------------------------------------
As in :mod:`fastsparse.cv`, every fold is fitted on the full CSC matrix with the held-out
rows given sample weight zero. The logistic objective of
:class:`fastsparse.LogisticRegression` is a weighted *sum* (the weights are never
rescaled)::

    C * sum_i s_i log(1 + exp(-y_i (x_i.w + b))) + penalty,

so the rows with s_i = 0 simply drop out: the fold objective is exactly the objective of
``LogisticRegression(C)`` fitted on ``X[train]``, with the same C. The intercept's null
model and the null deviance that ``tol`` is relative to are weighted too, so ``tol``
keeps its meaning on the training rows. Repeated indices in a custom ``train`` split count
as multiplicities (integer weights), like repeated rows of ``X[train]``.

Each fold runs :func:`fastsparse.logistic_path` along the increasing grid of C (each C
warm-started from the previous solution and certified by its own duality gap). The
held-out decision values are computed from the support of each solution only
(``X[:, support] @ w[support]``, restricted to the held-out rows): X is never sliced by
rows.

More than two classes: one-vs-rest, with one C shared by all the binary problems. In each
fold every class's path is fitted (the folds times the classes run in parallel), the
held-out one-vs-rest probabilities are normalized to sum to one (as
:meth:`LogisticRegression.predict_proba` does) and scored jointly.
"""

import time
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import _mmap_passes as MP
from ._interrupt import cancel_on_sigint, restore_on_interrupt
from ._sparse_ops import add_scaled_columns
from ._support import SupportMixin
from ._validation import (
    check_bool_param,
    check_csc,
    check_folds,
    check_option,
    check_penalty_factor,
    check_scalar_param,
    check_tol_scale,
)
from .logistic import (
    _CheckedLinearClassifierMixin,
    _prepare_targets,
    logistic_c_min,
    logistic_path,
)

__all__ = ["LogisticRegressionCV"]

_SCORINGS = ("neg_log_loss", "accuracy", "roc_auc")


def _proba_from_decision(dec):
    """(n, n_problems) decision values -> (n, n_classes) probabilities (OvR normalized)."""
    if dec.shape[1] == 1:
        p1 = expit(dec[:, 0])
        return np.column_stack([1.0 - p1, p1])
    prob = expit(dec)
    return prob / prob.sum(axis=1, keepdims=True)


def _score(scoring, y_idx, dec, n_classes, weights):
    """Score of held-out rows (class indices y_idx) from their decision values dec."""
    if scoring == "accuracy":
        pred = (dec[:, 0] > 0).astype(int) if dec.shape[1] == 1 else dec.argmax(axis=1)
        return accuracy_score(y_idx, pred, sample_weight=weights)
    proba = _proba_from_decision(dec)
    if scoring == "neg_log_loss":
        return -log_loss(y_idx, proba, labels=np.arange(n_classes), sample_weight=weights)
    # roc_auc
    if n_classes == 2:
        return roc_auc_score(y_idx, dec[:, 0], sample_weight=weights)
    return roc_auc_score(y_idx, proba, multi_class="ovr", labels=np.arange(n_classes),
                         sample_weight=weights)


def _fold_path(X, y_bin, s_full, train, test, Cs, kw, cancel=None):
    """One binary problem along Cs on all rows with held-out weights 0.

    Returns ``(dec_test, coefs, intercepts, dual_gaps, n_iters)`` with ``dec_test`` of
    shape (n_test, n_Cs): the held-out decision values.
    """
    n = X.shape[0]
    s = np.zeros(n)
    # add.at, not assignment: a repeated training index counts once per occurrence.
    np.add.at(s, train, 1.0 if s_full is None else s_full[train])
    res = logistic_path(X, y_bin, Cs=Cs, sample_weight=s, class_weight=None,
                        _cancel=cancel, **kw)
    coefs = res.coefs  # sparse CSC (n_features, n_Cs), sorted indices
    dec = np.empty((test.shape[0], len(Cs)))
    # X w from the support's columns in place: X[:, nz] @ w would copy them (most of X
    # when most features are selected), and on a memory map would leave them resident.
    add = MP.add_scaled_columns if MP.is_mapped(X.data) else add_scaled_columns
    z = np.empty(n)
    for k in range(len(Cs)):
        lo, hi = coefs.indptr[k], coefs.indptr[k + 1]
        z[:] = res.intercepts[k]
        if hi > lo:
            add(X.data, X.indices, X.indptr, coefs.indices[lo:hi],
                coefs.data[lo:hi].astype(np.float64, copy=False), z)
        dec[:, k] = z[test]
    return dec, coefs, res.intercepts, res.dual_gaps, res.n_iters


class LogisticRegressionCV(SupportMixin, _CheckedLinearClassifierMixin, BaseEstimator):
    """L1 / elastic-net logistic regression with C chosen by cross-validation, certified.

    For each C of the grid and each fold, minimises the objective of
    :class:`fastsparse.LogisticRegression` on the training rows::

        C * sum_{i in train} s_i log(1 + exp(-y_i (x_i.w + b)))
            + sum_j v_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)

    with the held-out rows given weight zero instead of being copied out of X (the loss is
    a weighted sum, so this is exactly ``LogisticRegression(C).fit(X[train], ...)``, see
    :mod:`fastsparse.logistic_cv`). Each fold follows the grid of increasing C with warm
    starts (:func:`fastsparse.logistic_path`); folds run in parallel threads. The held-out
    rows are scored, the best C (highest mean score) is selected and the model is refitted
    on all data along the grid up to it.

    Two classes are one binary problem (``classes_[1]`` positive); more classes are fitted
    one-vs-rest with a single C shared by all classes, selected on the jointly scored,
    normalized one-vs-rest probabilities.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        An int k: k values of C geometrically spaced over 4 decades from
        :func:`fastsparse.logistic_c_min` (on all data; the smallest over the classes for
        one-vs-rest), the C below which every coefficient is zero, upwards. When C_min is
        not defined (``l1_ratio=0``, unpenalized features, or ``X^T (y - p0) = 0``), the
        grid is scikit-learn's ``np.logspace(-4, 4, k)``. An array: the grid itself
        (sorted increasingly in ``Cs_``).
    l1_ratio : float, default=1.0
        Mix of L1 (1) and L2 (0) penalties, in [0, 1].
    cv : int, cross-validation generator or iterable, default=None
        As :func:`sklearn.model_selection.check_cv` with ``classifier=True``: None is
        5-fold and an int k is k-fold, both stratified; or a splitter, or an iterable of
        ``(train, test)`` index arrays.
    scoring : {"neg_log_loss", "accuracy", "roc_auc"} or None, default=None
        Held-out score to maximise (None: ``"neg_log_loss"``). Computed from the held-out
        decision values (probabilities: sigmoid, normalized over the classes for
        one-vs-rest); ``"roc_auc"`` with more than two classes is the one-vs-rest macro
        average, which needs every class in every held-out set. Weighted by the user's
        sample weights of the held-out rows, when given (not by the class weights).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept.
    class_weight : dict, "balanced" or None, default=None
        As in :class:`fastsparse.LogisticRegression`; computed once on all data (as
        scikit-learn does) and multiplied into the sample weights of every fold.
    tol : float, default=1e-4
        Stopping tolerance of every fit, relative to its null deviance (on the fold's
        training rows), as in :class:`fastsparse.LogisticRegression`.
    tol_scale : {"null_deviance", "objective"}, default="null_deviance"
        What ``tol`` is relative to; "objective" makes it the relative duality gap G / P
        of every fit, P the objective reached (as in
        :class:`fastsparse.LogisticRegression`).
    max_iter : int, default=100
        Maximum outer (working-set) iterations per C and binary problem.
    n_jobs : int or None, default=None
        Folds (times classes, one-vs-rest) fitted in parallel (joblib,
        ``prefer="threads"``: the kernels release the GIL and threads share X).
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature penalty multipliers v_j >= 0 (glmnet's ``penalty.factor``).
    refit : bool, default=True
        Refit on all data at the selected C (warm-started along the grid up to it). If
        False, ``coef_`` and ``intercept_`` are the averages over the folds of their
        solutions at the selected C (as scikit-learn does) and ``dual_gap_`` is NaN (no
        certificate for an average).
    selection_rule : {"min", "1se"}, default="min"
        ``"min"``: the C of the best mean score (scikit-learn; the smallest such C on
        ties). ``"1se"``: ``C_1se_``, the smallest C whose mean score is within one
        standard error of the best (a sparser, more regularized model; glmnet's
        ``lambda.1se``).
    screening : bool, default=True
        Gap Safe screening inside each solve.
    verbose : int, default=0
        One line per fitted fold path when > 0 (and the solver's lines when > 1).

    Attributes
    ----------
    Cs_ : ndarray of shape (n_Cs,)
        The grid, increasing.
    C_ : ndarray of shape (1,) or (n_classes,)
        The selected C (one value per binary problem, all equal, as scikit-learn).
    C_min_ : float
        C of the best mean score (``C_`` with ``selection_rule="min"``).
    C_1se_ : float
        Smallest C whose mean score is within one standard error (standard deviation over
        the folds / sqrt(n_folds)) of the best mean score.
    l1_ratio_ : ndarray of shape (1,) or (n_classes,)
        The l1_ratio used (scikit-learn spelling).
    scores_ : ndarray of shape (n_Cs, n_folds)
        Held-out score of every C on every fold.
    mean_scores_ : ndarray of shape (n_Cs,)
        Mean over the folds.
    cv_dual_gaps_ : ndarray of shape (n_Cs, n_folds) or (n_classes, n_Cs, n_folds)
        Duality gap of every fold's solution (objective units at that C).
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    dual_gap_ : ndarray of shape (1,) or (n_classes,)
        Duality gap of the refitted model at ``C_`` (NaN when ``refit=False``).
    n_iter_ : ndarray of shape (1,) or (n_classes,)
        Outer iterations of the refit at ``C_`` (with ``refit=False``, the largest over
        the folds at ``C_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from fastsparse import LogisticRegressionCV
    >>> X = sp.random(200, 50, density=0.2, format="csc", random_state=0)
    >>> y = (X @ np.r_[np.ones(5), np.zeros(45)] > 0.2).astype(int)
    >>> clf = LogisticRegressionCV(Cs=5, cv=3).fit(X, y)
    >>> clf.scores_.shape
    (5, 3)
    >>> clf.C_.shape
    (1,)
    """

    def __init__(self, *, Cs=10, l1_ratio=1.0, cv=None, scoring=None, fit_intercept=True,
                 class_weight=None, tol=1e-4, tol_scale="null_deviance", max_iter=100,
                 n_jobs=None, penalty_factor=None, refit=True, selection_rule="min",
                 screening=True, verbose=0):
        self.Cs = Cs
        self.l1_ratio = l1_ratio
        self.cv = cv
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.tol = tol
        self.tol_scale = tol_scale
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.penalty_factor = penalty_factor
        self.refit = refit
        self.selection_rule = selection_rule
        self.screening = screening
        self.verbose = verbose

    def _grid(self, X, y_bins, s_full, fit_intercept):
        if isinstance(self.Cs, Integral) and not isinstance(self.Cs, bool):
            check_scalar_param(self.Cs, "Cs", low=1, integer=True)
            c_min = np.inf
            try:
                for y_bin in y_bins:
                    c_min = min(c_min, logistic_c_min(
                        X, y_bin, l1_ratio=self.l1_ratio, fit_intercept=fit_intercept,
                        sample_weight=s_full, penalty_factor=self.penalty_factor))
            except ValueError:
                c_min = np.inf
            if not np.isfinite(c_min):
                return np.logspace(-4, 4, self.Cs)
            return c_min * np.geomspace(1.0, 1e4, self.Cs)
        Cs = np.sort(np.asarray(self.Cs, dtype=np.float64).ravel())
        if Cs.size == 0 or not np.all(np.isfinite(Cs)) or np.any(Cs <= 0):
            raise ValueError("Cs must be a positive int or a non-empty array of positive "
                             "finite values.")
        return Cs

    @restore_on_interrupt
    def fit(self, X, y, sample_weight=None):
        """Choose C by cross-validation, then refit on all data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a canonical CSC matrix is used without any copy, in every fold
            (held-out rows get weight zero instead of being sliced out).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weights (not rescaled: a weighted sum, as in
            :class:`fastsparse.LogisticRegression`); the held-out scores are weighted by
            them too.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        check_scalar_param(self.l1_ratio, "l1_ratio", low=0.0, high=1.0)
        check_scalar_param(self.tol, "tol", low=0.0)
        tol_scale = check_tol_scale(self.tol_scale)
        check_scalar_param(self.max_iter, "max_iter", low=1, integer=True)
        fit_intercept = check_bool_param(self.fit_intercept, "fit_intercept")
        refit = check_bool_param(self.refit, "refit")
        screening = check_bool_param(self.screening, "screening")
        scoring = "neg_log_loss" if self.scoring is None else self.scoring
        if scoring not in _SCORINGS:
            raise ValueError(f"scoring must be one of {_SCORINGS} or None, got "
                             f"{self.scoring!r}.")
        check_option(self.selection_rule, "selection_rule", ("min", "1se"))
        validate_data(self, X, y, skip_check_array=True)
        X = check_csc(X)
        n_samples, n_features = X.shape
        y = column_or_1d(np.asarray(y) if not sp.issparse(y) else y.toarray(), warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(f"y has {y.shape[0]} entries but X has {n_samples} rows.")
        classes, y_idx, sw_n, total = _prepare_targets(y, sample_weight,
                                                       self.class_weight, n_samples)
        n_classes = classes.shape[0]
        if self.penalty_factor is not None:
            check_penalty_factor(self.penalty_factor, n_features)
        # Raw weights s = sample_weight * class_weight (None: all ones), and the user's
        # sample weights alone for the held-out scores.
        s_full = None if sw_n is None else sw_n * (total / n_samples)
        user_w = None
        if sample_weight is not None:
            user_w = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64),
                                     (n_samples,))
        targets = [1] if n_classes == 2 else list(range(n_classes))
        y_bins = [(y_idx == k).astype(np.int8) for k in targets]
        Cs = self._grid(X, y_bins, s_full, fit_intercept)
        self.Cs_ = Cs
        n_Cs = Cs.shape[0]

        cv = check_cv(self.cv, y, classifier=True)
        # A placeholder with X's rows: scikit-learn's splitters make a sparse X
        # "indexable" by converting it to CSR, a full copy of X just to count its rows.
        folds = check_folds(cv.split(np.empty((X.shape[0], 0)), y), X.shape[0])
        n_folds = len(folds)
        kw = dict(l1_ratio=self.l1_ratio, fit_intercept=fit_intercept,
                  penalty_factor=self.penalty_factor, tol=self.tol, tol_scale=tol_scale,
                  max_iter=self.max_iter, screening=screening,
                  verbose=max(int(self.verbose) - 1, 0))
        t0 = time.perf_counter()
        results = []
        # Ctrl-C reaches the folds running in worker threads through `cancel`.
        with cancel_on_sigint() as cancel:
            jobs = [delayed(_fold_path)(X, y_bin, s_full, train, test, Cs, kw, cancel)
                    for train, test in folds for y_bin in y_bins]
            for i, out in enumerate(Parallel(n_jobs=self.n_jobs, prefer="threads",
                                             return_as="generator")(jobs)):
                results.append(out)
                if self.verbose:
                    print(f"[fastsparse] cv path {i + 1}/{len(jobs)} done  "
                          f"{time.perf_counter() - t0:.2f}s")
        n_pb = len(targets)
        scores = np.empty((n_Cs, n_folds))
        gaps = np.empty((n_pb, n_Cs, n_folds))
        iters = np.empty((n_pb, n_Cs, n_folds), dtype=np.int64)
        for f, (_, test) in enumerate(folds):
            outs = results[f * n_pb:(f + 1) * n_pb]
            w_test = None if user_w is None else user_w[test]
            for c in range(n_Cs):
                dec = np.column_stack([o[0][:, c] for o in outs])
                scores[c, f] = _score(scoring, y_idx[test], dec, n_classes, w_test)
            for k, o in enumerate(outs):
                gaps[k, :, f] = o[3]
                iters[k, :, f] = o[4]
        self.scores_ = scores
        self.mean_scores_ = scores.mean(axis=1)
        self.cv_dual_gaps_ = gaps[0] if n_pb == 1 else gaps

        mean = self.mean_scores_
        i_best = int(np.argmax(mean))
        se = (scores.std(axis=1, ddof=1) / np.sqrt(n_folds) if n_folds > 1
              else np.zeros(n_Cs))
        within = np.flatnonzero(mean >= mean[i_best] - se[i_best])
        i_1se = int(within[np.argmin(Cs[within])])
        self.C_min_ = float(Cs[i_best])
        self.C_1se_ = float(Cs[i_1se])
        i_sel = i_best if self.selection_rule == "min" else i_1se
        self.C_ = np.full(n_pb, Cs[i_sel])
        self.l1_ratio_ = np.full(n_pb, float(self.l1_ratio))
        self.classes_ = classes

        if refit:
            refit_kw = dict(kw, verbose=max(int(self.verbose) - 1, 0))

            def refit_one(y_bin, cancel=None):
                return logistic_path(X, y_bin, Cs=Cs[:i_sel + 1], sample_weight=s_full,
                                     class_weight=None, coef_format="dense",
                                     _cancel=cancel, **refit_kw)

            if n_pb == 1 or self.n_jobs in (None, 1):
                paths = [refit_one(yb) for yb in y_bins]
            else:
                with cancel_on_sigint() as cancel:
                    paths = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                        delayed(refit_one)(yb, cancel) for yb in y_bins)
            self.coef_ = np.vstack([p.coefs[:, -1] for p in paths])
            self.intercept_ = np.array([p.intercepts[-1] for p in paths], dtype=np.float64)
            self.dual_gap_ = np.array([p.dual_gaps[-1] for p in paths], dtype=np.float64)
            self.n_iter_ = np.array([p.n_iters[-1] for p in paths], dtype=np.int32)
        else:
            coef = np.zeros((n_pb, n_features))
            intercept = np.zeros(n_pb)
            for f in range(n_folds):
                for k in range(n_pb):
                    o = results[f * n_pb + k]
                    coef[k] += o[1][:, [i_sel]].toarray().ravel()
                    intercept[k] += o[2][i_sel]
            self.coef_ = coef / n_folds
            self.intercept_ = intercept / n_folds
            self.dual_gap_ = np.full(n_pb, np.nan)
            self.n_iter_ = iters[:, i_sel, :].max(axis=1).astype(np.int32)
        return self

    def predict_proba(self, X):
        """Class probabilities: sigmoid of the decision function (normalized over the
        classes for one-vs-rest), as :meth:`fastsparse.LogisticRegression.predict_proba`.
        """
        check_is_fitted(self)
        return self._predict_proba_lr(X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (as scikit-learn's classifiers; not the CV ``scoring``)."""
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
