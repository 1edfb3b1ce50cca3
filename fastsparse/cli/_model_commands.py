"""The model commands ``fit``, ``path``, ``cv`` and ``select``.

Each handler loads the data, runs the library's public API on it inside a
:class:`~fastsparse.cli._run._Run`, builds the report and emits it; it returns the exit
code 0 and raises :class:`~fastsparse.cli._errors.CLIError` or ``_UsageError`` for
problems the user can fix.
"""

import math

import numpy as np
import scipy.sparse as sp

from ._errors import CLIError, _UsageError
from ._inputs import _binary_labels, _load
from ._output import _emit, _features_csv, _save_plot, _table_csv
from ._report import (_add_model_result, _base_report, _logistic_result,
                      _null_deviance_logistic, _null_deviance_ls, _ratio, _report_warnings,
                      _selected)
from ._run import _Run


def _cmd_fit(args):
    from .. import ElasticNet, Lasso, LogisticRegression, Ridge, alpha_grid, logistic_c_min

    data = _load(args)
    X, y, n = data.X, data.y, data.X.shape[0]
    model = args.model
    params = {"fit_intercept": args.fit_intercept, "tol": args.tol,
              "max_iter": args.max_iter}
    report = _base_report("fit", args, data)
    verbose = args.verbose
    with _Run() as run:
        if model in ("lasso", "enet"):
            l1 = 1.0 if model == "lasso" else (0.5 if args.l1_ratio is None
                                               else args.l1_ratio)
            alpha = args.alpha
            if alpha is None:
                if l1 == 0:
                    raise _UsageError("--l1-ratio 0 needs an explicit --alpha")
                a_max = float(run.call(alpha_grid, X, y, l1_ratio=l1, n_alphas=1,
                                       fit_intercept=args.fit_intercept)[0])
                report["alpha_max"] = a_max
                alpha = a_max / 10
            cls = Lasso if model == "lasso" else ElasticNet
            kw = {} if model == "lasso" else {"l1_ratio": l1}
            est = cls(alpha=alpha, **kw, verbose=verbose, **params)
            run.call(est.fit, X, y)
            params.update(alpha=alpha, l1_ratio=l1)
            d0 = _null_deviance_ls(y, args.fit_intercept)
            rel = _ratio(est.dual_gap_, d0 / n)
            coef, intercept, gap = est.coef_, est.intercept_, est.dual_gap_
        elif model == "ridge":
            alpha = 1.0 if args.alpha is None else args.alpha
            est = Ridge(alpha=alpha, verbose=verbose, **params)
            run.call(est.fit, X, y)
            params.update(alpha=alpha, solver=est.solver_)
            # Ridge's objective is 2n times the 1/(2n) one whose gap --tol bounds.
            rel = _ratio(est.dual_gap_, 2.0 * _null_deviance_ls(y, args.fit_intercept))
            coef, intercept, gap = est.coef_, est.intercept_, est.dual_gap_
            report["rel_error_bound"] = float(est.rel_error_bound_)
        else:
            classes = _binary_labels(y)
            l1 = 1.0 if args.l1_ratio is None else args.l1_ratio
            if args.C is not None:
                C = args.C
            elif args.alpha is not None:
                C = 1.0 / (args.alpha * n)
            else:
                if l1 == 0:
                    raise _UsageError("--l1-ratio 0 needs an explicit --C or --alpha")
                pos = [classes[1]] if classes.size == 2 else classes
                c_min = min(run.call(logistic_c_min, X, (y == k).astype(int), l1_ratio=l1,
                                     fit_intercept=args.fit_intercept) for k in pos)
                if not math.isfinite(c_min):
                    raise CLIError("every C gives an all-zero model (X^T (y - p0) = 0); "
                                   "give --C")
                report["C_min"] = c_min
                C = 10.0 * c_min
            est = LogisticRegression(C=C, l1_ratio=l1, verbose=verbose,
                                     **params)
            run.call(est.fit, X, y)
            params.update(C=C, alpha=1.0 / (C * n), l1_ratio=l1)
            report["classes"] = [float(c) for c in classes]
            coef, intercept, gap, rel = _logistic_result(est, classes, y, C,
                                                         args.fit_intercept)
    report["parameters"] = params
    report["alpha"] = params["alpha"]
    if "C" in params:
        report["C"] = params["C"]
    _add_model_result(report, run, data, args.top, coef, intercept, gap, rel)
    _emit(args, report, _features_csv(report))
    return 0


def _cmd_path(args):
    from .. import enet_path, logistic_path

    data = _load(args)
    X, y, n = data.X, data.y, data.X.shape[0]
    report = _base_report("path", args, data)
    rows = []
    with _Run() as run:
        if args.model in ("lasso", "enet"):
            l1 = 1.0 if args.model == "lasso" else (0.5 if args.l1_ratio is None
                                                    else args.l1_ratio)
            eps = 1e-3 if args.eps is None else args.eps
            n_alphas = 100 if args.n_alphas is None else args.n_alphas
            res = run.call(enet_path, X, y, l1_ratio=l1, eps=eps, n_alphas=n_alphas,
                            fit_intercept=args.fit_intercept, tol=args.tol,
                            max_iter=args.max_iter, coef_format="sparse",
                            verbose=args.verbose)
            scale = _null_deviance_ls(y, args.fit_intercept) / n
            for k, a in enumerate(res.alphas):
                rows.append({
                    "alpha": float(a), "n_nonzero": int(res.n_nonzero[k]),
                    "dual_gap": float(res.dual_gaps[k]),
                    "relative_gap": _ratio(float(res.dual_gaps[k]), scale),
                    "dev_ratio": float(res.dev_ratios[k]),
                    "intercept": float(res.intercepts[k]),
                    "converged": bool(res.converged[k])})
            alphas, coefs = np.asarray(res.alphas), sp.csc_matrix(res.coefs)
            report["alpha_max"] = float(res.alpha_max)
            params = {"l1_ratio": l1, "eps": eps, "n_alphas": n_alphas}
        else:
            classes = _binary_labels(y)
            if classes.size != 2:
                raise CLIError(f"path --model logistic needs 2 classes, got "
                               f"{classes.size}")
            l1 = 1.0 if args.l1_ratio is None else args.l1_ratio
            if l1 == 0:
                raise _UsageError("--l1-ratio 0 has no automatic grid of C")
            eps = 1e-2 if args.eps is None else args.eps
            n_Cs = 20 if args.n_alphas is None else args.n_alphas
            res = run.call(logistic_path, X, y, n_Cs=n_Cs, eps=eps, l1_ratio=l1,
                                fit_intercept=args.fit_intercept, tol=args.tol,
                                max_iter=args.max_iter, verbose=max(args.verbose - 1, 0))
            y_pos = y == classes[1]
            d0 = _null_deviance_logistic(y_pos, args.fit_intercept)
            coefs = sp.csc_matrix(res.coefs)
            y_pm = np.where(y_pos, 1.0, -1.0)
            z = (X @ coefs).toarray()  # n x n_Cs decision values (without intercepts)
            for k, C in enumerate(res.Cs):
                dev = 2.0 * np.logaddexp(0.0, -y_pm * (z[:, k] + res.intercepts[k])).sum()
                rel = _ratio(float(res.dual_gaps[k]), C * d0)
                rows.append({
                    "C": float(C), "alpha": 1.0 / (C * n),
                    "n_nonzero": int(np.diff(coefs.indptr)[k]),
                    "dual_gap": float(res.dual_gaps[k]), "relative_gap": rel,
                    "dev_ratio": 1.0 - dev / d0 if d0 > 0 else 0.0,
                    "intercept": float(res.intercepts[k]),
                    "converged": rel is not None and rel <= args.tol})
            alphas = 1.0 / (np.asarray(res.Cs) * n)
            report["classes"] = [float(c) for c in classes]
            params = {"l1_ratio": l1, "eps": eps, "n_Cs": n_Cs}
    params.update(fit_intercept=args.fit_intercept, tol=args.tol, max_iter=args.max_iter)
    report["parameters"] = params
    report["path"] = rows
    # Order in which features enter the path: first alpha where they are non-zero, and
    # among features entering at the same alpha, largest |coef| there first.
    first = np.full(coefs.shape[0], len(rows), dtype=np.int64)
    at_entry = np.zeros(coefs.shape[0])
    for k in range(coefs.shape[1] - 1, -1, -1):
        sl = slice(coefs.indptr[k], coefs.indptr[k + 1])
        first[coefs.indices[sl]] = k
        at_entry[coefs.indices[sl]] = np.abs(coefs.data[sl])
    entered = np.flatnonzero(first < len(rows))
    entered = entered[np.lexsort((-at_entry[entered], first[entered]))]
    top = 10 if args.top is None else args.top
    report["summary"] = {
        "n_alphas": len(rows),
        "max_n_nonzero": max((r["n_nonzero"] for r in rows), default=0),
        "worst_relative_gap": max((r["relative_gap"] for r in rows
                                   if r["relative_gap"] is not None), default=None),
        "all_converged": all(r["converged"] for r in rows) and run.converged(),
        "n_entered": int(entered.size),
        "first_entered": [dict({"index": int(j)},
                               **({"name": data.names[j]} if data.names else {}),
                               alpha=float(alphas[first[j]])) for j in entered[:top]],
    }
    report["timings"] = {"load_seconds": data.load_seconds, "fit_seconds": run.seconds}
    _report_warnings(report, run)
    if args.plot:
        from ..plotting import plot_path

        _save_plot(args.plot, lambda ax: plot_path(alphas, coefs, data.names, ax=ax))
        report["plot"] = args.plot
    _emit(args, report, _table_csv(rows))
    return 0


def _cmd_cv(args):
    from .. import ElasticNetCV, LassoCV, LogisticRegressionCV

    data = _load(args)
    X, y, n = data.X, data.y, data.X.shape[0]
    report = _base_report("cv", args, data)
    common = dict(fit_intercept=args.fit_intercept, tol=args.tol, max_iter=args.max_iter,
                  cv=args.cv, n_jobs=args.n_jobs, selection_rule=args.selection_rule,
                  verbose=args.verbose)
    with _Run() as run:
        if args.model in ("lasso", "enet"):
            n_alphas = 100 if args.n_alphas is None else args.n_alphas
            if args.model == "lasso":
                est = LassoCV(eps=args.eps, n_alphas=n_alphas, **common)
                l1 = 1.0
            else:
                l1 = args.l1_ratio or [0.5]
                est = ElasticNetCV(l1_ratio=l1[0] if len(l1) == 1 else l1, eps=args.eps,
                                   n_alphas=n_alphas, **common)
            run.call(est.fit, X, y)
            mse = np.asarray(est.mse_path_, dtype=np.float64)
            alphas = np.asarray(est.alphas_, dtype=np.float64)
            if mse.ndim == 3:
                i = list(np.atleast_1d(l1)).index(est.l1_ratio_)
                mse = mse[i]
                alphas = alphas[i] if alphas.ndim == 2 else alphas
            mean, se = mse.mean(axis=1), mse.std(axis=1, ddof=1) / math.sqrt(mse.shape[1])
            rows = [{"alpha": float(a), "mean_mse": float(m), "se_mse": float(s)}
                    for a, m, s in zip(alphas, mean, se)]
            report.update(alpha=est.alpha_, alpha_min=est.alpha_min_,
                          alpha_1se=est.alpha_1se_,
                          l1_ratio=getattr(est, "l1_ratio_", 1.0))
            coef, intercept, gap = est.coef_, est.intercept_, est.dual_gap_
            rel = _ratio(gap, _null_deviance_ls(y, args.fit_intercept) / n)
            params = {"l1_ratio": l1, "eps": args.eps, "n_alphas": n_alphas}
        else:
            classes = _binary_labels(y)
            l1 = 1.0 if args.l1_ratio is None else args.l1_ratio[0]
            n_Cs = 10 if args.n_alphas is None else args.n_alphas
            est = LogisticRegressionCV(Cs=n_Cs, l1_ratio=l1, scoring=args.scoring,
                                       **common)
            run.call(est.fit, X, y)
            scores = np.asarray(est.scores_, dtype=np.float64)
            mean = scores.mean(axis=1)
            se = scores.std(axis=1, ddof=1) / math.sqrt(scores.shape[1])
            rows = [{"C": float(C), "alpha": 1.0 / (C * n), "mean_score": float(m),
                     "se_score": float(s)} for C, m, s in zip(est.Cs_, mean, se)]
            C = float(est.C_[0])
            report.update(C=C, alpha=1.0 / (C * n), C_min=float(est.C_min_),
                          C_1se=float(est.C_1se_), l1_ratio=l1,
                          scoring=args.scoring or "neg_log_loss",
                          classes=[float(c) for c in classes])
            coef, intercept, gap, rel = _logistic_result(est, classes, y, C,
                                                         args.fit_intercept)
            params = {"l1_ratio": l1, "n_Cs": n_Cs}
    params.update(cv=args.cv, selection_rule=args.selection_rule,
                  fit_intercept=args.fit_intercept, tol=args.tol, max_iter=args.max_iter)
    report["parameters"] = params
    report["n_folds"] = args.cv
    report["cv_path"] = rows
    _add_model_result(report, run, data, args.top, coef, intercept, gap, rel)
    if args.plot:
        from ..plotting import plot_cv

        _save_plot(args.plot, lambda ax: plot_cv(est, ax=ax))
        report["plot"] = args.plot
    _emit(args, report, _features_csv(report))
    return 0


def _cmd_select(args):
    try:
        from ..selection import select_features
    except ImportError:
        raise CLIError("this installation has no fastsparse.selection module") from None

    data = _load(args)
    X, y = data.X, data.y
    report = _base_report("select", args, data)
    if args.model == "logistic":
        _binary_labels(y)
    l1 = 0.5 if args.l1_ratio is None else args.l1_ratio
    if args.model != "enet":
        l1 = 1.0
    with _Run() as run:
        res = run.call(
            select_features, X, y, n_features=args.n_features, alpha=args.alpha, C=args.C,
            model=args.model, l1_ratio=l1, fit_intercept=args.fit_intercept,
            feature_names=data.names, n_alphas=args.n_alphas, eps=args.eps,
            tol=args.tol, max_iter=args.max_iter, verbose=args.verbose)
    report["parameters"] = {
        "n_features": args.n_features, "alpha": args.alpha, "C": args.C, "l1_ratio": l1,
        "n_alphas": args.n_alphas, "eps": args.eps, "fit_intercept": args.fit_intercept,
        "tol": args.tol, "max_iter": args.max_iter}
    report["alpha"] = res.alpha
    if getattr(res, "C", None) is not None:
        report["C"] = res.C
    report["exact"] = res.exact
    report["intercept"] = res.intercept
    coef = _full_coef(res, X.shape[1])
    n_sel, rows = _selected(coef, data.names, args.top)
    report["n_selected"] = int(res.n_selected)
    report["selected"] = rows
    report["indices"] = [int(i) for i in res.indices]
    report["dual_gap"] = res.dual_gap
    if args.model == "logistic":
        classes = np.unique(y)
        d0 = _null_deviance_logistic(y == classes[-1], args.fit_intercept)
        report["relative_gap"] = _ratio(res.dual_gap, res.C * d0)
    else:
        d0 = _null_deviance_ls(y, args.fit_intercept)
        report["relative_gap"] = _ratio(res.dual_gap, d0 / X.shape[0])
    report["converged"] = run.converged()
    report["timings"] = {"load_seconds": data.load_seconds, "fit_seconds": run.seconds}
    _report_warnings(report, run)
    _emit(args, report, _features_csv(report))
    return 0


def _full_coef(res, n_features):
    """The coefficient vector of a SelectionResult as a dense (n_features,) array."""
    coef = res.coef
    if sp.issparse(coef):
        coef = coef.toarray()
    coef = np.asarray(coef, dtype=np.float64)
    if coef.ndim == 2 and 1 in coef.shape:
        coef = coef.ravel()
    if coef.shape == (n_features,):
        return coef
    # Coefficients of the selected features only, in the order of res.indices.
    full = np.zeros(n_features)
    full[np.asarray(res.indices, dtype=np.int64)] = coef
    return full
