"""The parts of a command's report: header, selected features, warnings, relative gaps.

The relative gaps divide a duality gap by the null model's scale, the scale ``--tol``
is compared with (DESIGN.md).
"""

import math
import sys

import numpy as np

from ._errors import PROG


def _report_warnings(report, run):
    msgs = run.messages()
    for m in msgs:
        print(f"{PROG}: warning: {m}", file=sys.stderr)
    report["warnings"] = msgs


def _null_deviance_ls(y, fit_intercept):
    """sum (y - ybar)^2 (ybar = 0 without intercept): the scale of --tol (DESIGN.md)."""
    yc = y - y.mean() if fit_intercept else y
    return float(yc @ yc)


def _null_deviance_logistic(y_pos, fit_intercept):
    """Twice the negative log-likelihood of the intercept-only model (y_pos: bool)."""
    n = y_pos.size
    if not fit_intercept:
        return 2.0 * n * math.log(2.0)
    p = np.count_nonzero(y_pos) / n
    if p in (0.0, 1.0):
        return 0.0
    return -2.0 * n * (p * math.log(p) + (1 - p) * math.log1p(-p))


def _ratio(num, den):
    if den > 0:
        return num / den
    return 0.0 if num == 0 else None


def _selected(coef, names, top):
    """Non-zero features sorted by |coef| (largest over classes) descending."""
    coef = np.asarray(coef, dtype=np.float64)
    mag = np.abs(coef) if coef.ndim == 1 else np.abs(coef).max(axis=0)
    nz = np.flatnonzero(mag)
    order = nz[np.argsort(-mag[nz], kind="stable")]
    if top is not None:
        order = order[:top]
    rows = []
    for j in order:
        row = {"index": int(j)}
        if names is not None:
            row["name"] = names[j]
        row["coef"] = float(coef[j]) if coef.ndim == 1 else [float(c) for c in coef[:, j]]
        rows.append(row)
    return int(nz.size), rows


def _base_report(command, args, data):
    X = data.X
    return {
        "command": command,
        "model": getattr(args, "model", None),
        "data": str(data.path),
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "nnz": int(X.nnz),
    }


def _logistic_result(est, classes, y, C, fit_intercept):
    """The fitted logistic model's (coef, intercept, dual_gap, relative_gap) to report.

    With two classes, those of the single model of ``classes[1]`` (a 1-D coef and
    scalars); with more, one per class (one-vs-rest), each gap relative to the null
    deviance of its own class at ``C``.
    """
    binary = classes.size == 2
    coef = est.coef_[0] if binary else est.coef_
    intercept = float(est.intercept_[0]) if binary else est.intercept_
    gap = float(est.dual_gap_[0]) if binary else est.dual_gap_
    targets = [classes[1]] if binary else classes
    rel = [_ratio(g, C * _null_deviance_logistic(y == k, fit_intercept))
           for g, k in zip(np.atleast_1d(est.dual_gap_), targets)]
    return coef, intercept, gap, rel[0] if binary else rel


def _add_model_result(report, run, data, top, coef, intercept, gap, rel):
    """Close the report of one fitted model (``fit``, ``cv``'s refit).

    Adds, in this order, the intercept, the non-zero features (the ``top`` largest, or
    all when None), the dual and relative gaps, convergence, timings and the warnings
    ``run`` caught (also printed on stderr).
    """
    report["intercept"] = intercept
    report["n_selected"], report["selected"] = _selected(coef, data.names, top)
    report["dual_gap"] = gap
    report["relative_gap"] = rel
    report["converged"] = run.converged()
    report["timings"] = {"load_seconds": data.load_seconds, "fit_seconds": run.seconds}
    _report_warnings(report, run)
