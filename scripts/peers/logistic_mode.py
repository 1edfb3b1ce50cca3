"""--model logistic: L1 logistic regression at equal relative duality gap."""

import importlib.util
import time
import warnings

import numpy as np

from .worker import _emit, run_ladder
from .parent import compare_solvers
from .report import (
    _describe_problem,
    plot_curves,
    print_entry,
    print_header,
    write_outputs,
)

#: Solvers of ``--model logistic`` and the module each needs. scikit-learn runs twice:
#: liblinear (newGLMNET, the reference proximal Newton) and saga.
LOGISTIC_SOLVERS = {
    "fastsparse": "fastsparse",
    "sklearn-liblinear": "sklearn",
    "sklearn-saga": "sklearn",
    "skglm": "skglm",
    "celer": "celer",
}

#: liblinear appends a constant column of this value and penalizes its weight like any
#: other, so its intercept is penalized by |b| / scaling: a large value makes that
#: penalty negligible (the script's gap says whether it is) at some cost in conditioning.
LIBLINEAR_INTERCEPT_SCALING = 100.0


def load_logistic_problem(preset, cache_dir=None):
    """X and the {0, 1} classification labels of a preset (from the disk cache)."""
    from fastsparse.datasets import fetch_preset

    X, y, _ = fetch_preset(preset, "classification", cache_dir=cache_dir)
    y = np.asarray(y, dtype=np.float64)
    if set(np.unique(y)) != {0.0, 1.0}:
        raise ValueError(f"--model logistic needs binary {{0, 1}} labels; {preset} has "
                         f"{np.unique(y)[:5]}")
    return X, y


def logistic_c_min(X, y, fit_intercept=True):
    """Largest C for which every L1 logistic coefficient is zero.

    At w = 0 the null model predicts ybar (with an intercept) or 1/2, and the gradient
    of ``C sum log-loss`` is ``C X^T (p0 - y)``; zero is optimal while its sup norm is at
    most 1. The counterpart of :func:`alpha_max`: with ``alpha = 1 / (C n)`` (DESIGN.md's
    alpha form), ``alpha_max = 1 / (C_min n)``, so ``--alpha-ratio r`` means
    ``C = r C_min``.
    X is never centered (``X^T (y - ybar)`` is the centered product already).
    """
    y = np.asarray(y, dtype=np.float64)
    r = y - (y.mean() if fit_intercept else 0.5)
    grad = np.abs(np.asarray(X.T @ r, dtype=np.float64).ravel()).max()
    return float(1.0 / grad) if grad > 0 else np.inf


def logistic_primal_dual(X, y, coef, intercept, C, fit_intercept=True):
    """Primal and dual values of L1 logistic regression at a returned solution.

    Objective (scikit-learn's ``C`` form, y in {0, 1} mapped to s = 2y - 1)::

        P(w, b) = C sum_i log(1 + exp(-s_i (x_i.w + b))) + ||w||_1.

    Dual point, computed here independently of every solver: u = C s sigmoid(-s z) (minus
    the gradient of the loss in z); with an intercept the class with the larger total |u|
    is scaled down so that sum u = 0 (which keeps u in the box 0 <= s u <= C); then u is
    scaled by t = min(1, 1 / ||X^T u||_inf) into the dual feasible set, and
    ``D = C sum_i H(s_i t u_i / C)`` with H the binary entropy in nats.

    Returns
    -------
    primal, dual : float
    """
    from scipy.special import expit, xlogy

    y = np.asarray(y, dtype=np.float64)
    s = 2.0 * y - 1.0
    w = np.asarray(coef, dtype=np.float64).ravel()
    z = np.asarray(X @ w, dtype=np.float64).ravel() + float(intercept)
    m = s * z
    primal = C * np.sum(np.logaddexp(0.0, -m)) + np.abs(w).sum()
    u = C * s * expit(-m)
    if fit_intercept:
        pos, neg = u[s > 0].sum(), -u[s < 0].sum()
        if pos > neg:
            u[s > 0] *= neg / pos
        elif neg > pos:
            u[s < 0] *= pos / neg
    corr = np.abs(np.asarray(X.T @ u, dtype=np.float64).ravel()).max()
    t = min(1.0, 1.0 / corr) if corr > 0 else 1.0
    p = np.clip(t * s * u / C, 0.0, 1.0)
    dual = C * np.sum(-xlogy(p, p) - xlogy(1.0 - p, 1.0 - p))
    return float(primal), float(dual)


def make_logistic_estimator(solver, C, fit_intercept, tol, n_samples):
    """A solver's unfitted L1 logistic regression for one rung of the ladder.

    Every estimator gets the objective of :func:`logistic_primal_dual`: skglm's
    ``alpha`` is ``1 / (C n)`` (its loss is averaged), scikit-learn's and celer's ``C``
    are ours. celer has no intercept, liblinear penalizes its intercept (see
    :data:`LIBLINEAR_INTERCEPT_SCALING`). Iteration caps are far above the defaults so
    that only ``tol`` decides. fastsparse's ``tol`` is its relative duality gap
    (``tol_scale="objective"``, the criterion this script checks), as in the path
    comparison; the peers' ``tol`` mean other things, hence the ladders.
    """
    if solver == "fastsparse":
        from fastsparse import LogisticRegression
        return LogisticRegression(C=C, l1_ratio=1.0, tol=tol, tol_scale="objective",
                                  fit_intercept=fit_intercept, max_iter=10_000)
    if solver in ("sklearn-liblinear", "sklearn-saga"):
        from sklearn.linear_model import LogisticRegression
        name = solver.split("-", 1)[1]
        extra = (dict(intercept_scaling=LIBLINEAR_INTERCEPT_SCALING)
                 if name == "liblinear" else {})
        return LogisticRegression(C=C, l1_ratio=1.0, solver=name, tol=tol,
                                  fit_intercept=fit_intercept, max_iter=10**6,
                                  random_state=0, **extra)
    if solver == "skglm":
        from skglm import SparseLogisticRegression
        return SparseLogisticRegression(alpha=1.0 / (C * n_samples), tol=tol,
                                        fit_intercept=fit_intercept, max_iter=10_000)
    if solver == "celer":
        if fit_intercept:
            raise ValueError("celer's LogisticRegression has no intercept: use "
                             "--no-fit-intercept")
        from celer import LogisticRegression
        return LogisticRegression(C=C, tol=tol, fit_intercept=False, max_iter=10_000)
    raise ValueError(f"unknown logistic solver {solver!r}; choose from "
                     f"{sorted(LOGISTIC_SOLVERS)}")


def run_logistic_worker(spec):
    """Child-process entry point of ``--model logistic`` (events as :func:`run_worker`).

    ``spec`` holds ``solver, C, fit_intercept, tols, rel_gap, preset, cache_dir`` and
    optionally ``repeat``.
    """
    start = time.perf_counter()
    importlib.import_module(LOGISTIC_SOLVERS[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_logistic_problem(spec["preset"], spec["cache_dir"])
    n = X.shape[0]
    fit_intercept = spec["fit_intercept"]

    def make(C, tol, n_samples):
        return make_logistic_estimator(spec["solver"], C, fit_intercept, tol, n_samples)

    # Warm-up on a slice with both classes (same dtypes: same JIT specializations).
    start = time.perf_counter()
    X_w = X[: min(n, 300)][:, : min(X.shape[1], 1000)].tocsc()
    X_w.sort_indices()
    y_w = np.array(y[: X_w.shape[0]])
    y_w[:2] = [0.0, 1.0]
    C_w = 10 * logistic_c_min(X_w, y_w, fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make(C_w if np.isfinite(C_w) else 1.0, 1e-4, X_w.shape[0]).fit(X_w, y_w)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    run_ladder(spec, X, y, lambda tol: make(spec["C"], tol, n),
               lambda coef, intercept: logistic_primal_dual(X, y, coef, intercept,
                                                            spec["C"], fit_intercept))


def run_logistic_comparison(args):
    """``--model logistic``: every (C, solver) ladder at equal relative duality gap.

    ``--alpha-ratio r`` sets ``C = r * C_min`` (:func:`logistic_c_min`), i.e. the alpha
    form's ``alpha = alpha_max / r``. The table, plot and JSON are those of the Lasso
    comparison, with the script's own logistic gap (:func:`logistic_primal_dual`).

    Returns
    -------
    report : dict
    """
    X, y = load_logistic_problem(args.preset, args.cache_dir)
    problem = dict(_describe_problem(args, X, y), target="classification {0, 1}",
                   l1_ratio=1.0)
    c_min = logistic_c_min(X, y, args.fit_intercept)
    del X, y
    info, x_mib = print_header(
        problem, labels="classification labels", model_text=(
            f"Model L1 logistic, C sum log(1 + exp(-s z)) + ||w||_1, fit_intercept="
            f"{args.fit_intercept}, C_min = {c_min:.6g}, required relative gap "
            f"{args.rel_gap:g}. liblinear: intercept_scaling="
            f"{LIBLINEAR_INTERCEPT_SCALING:g} (its intercept is penalized); skglm: "
            "alpha = 1 / (C n)."))
    entries = []
    cold_pending = args.cold_compile
    for ratio in args.alpha_ratio:
        C = ratio * c_min
        base = dict(mode="logistic", C=C, fit_intercept=args.fit_intercept,
                    rel_gap=args.rel_gap, repeat=args.repeat, preset=args.preset,
                    cache_dir=args.cache_dir)
        solvers, cold_pending = compare_solvers(base, args, cold_pending)
        entries.append(dict(alpha_ratio=ratio, C=C, solvers=solvers))
        print_entry(f"C = {ratio:g} * C_min = {C:.6g} (alpha = alpha_max / {ratio:g})",
                    solvers, x_mib, args.timeout)
    report = dict(machine=info, problem=problem, c_min=c_min, tols=args.tols,
                  timeout=args.timeout, results=entries)
    write_outputs(report, args, lambda path: plot_curves(entries, args.rel_gap, path))
    return report


def _check_logistic_args(parser, args):
    """Options of ``--model logistic`` (ladder, timeout, --alpha-ratio are shared)."""
    if args.path or args.cv:
        parser.error("--path and --cv compare Lasso: not with --model logistic")
    if any(r <= 0 for r in args.alpha_ratio):
        parser.error("--alpha-ratio values must be positive")
    if args.repeat < 1 or args.rounds < 1:
        parser.error("--repeat and --rounds must be >= 1")
    if args.rel_gap <= 0 or args.timeout <= 0 or any(t <= 0 for t in args.tols):
        parser.error("--rel-gap, --timeout and --tols must be positive")
    args.tols = sorted(set(args.tols), reverse=True)
    installed = [s for s, m in LOGISTIC_SOLVERS.items()
                 if importlib.util.find_spec(m) is not None
                 and not (s == "celer" and args.fit_intercept)]
    args.solvers = args.solvers or installed
    wrong = [s for s in args.solvers if s not in LOGISTIC_SOLVERS]
    if wrong:
        parser.error(f"--model logistic compares {', '.join(LOGISTIC_SOLVERS)}; "
                     f"not {wrong}")
    if "celer" in args.solvers and args.fit_intercept:
        parser.error("celer's LogisticRegression has no intercept: add "
                     "--no-fit-intercept or drop celer")
    if "fastsparse" in args.solvers:
        args.solvers = ["fastsparse"] + [s for s in args.solvers if s != "fastsparse"]
    args.target = "labels"
