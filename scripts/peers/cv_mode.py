"""Cross-validation mode (--cv): time and peak memory of a k-fold LassoCV fit."""

import importlib
import time
import warnings

import numpy as np

from .problems import alpha_max, load_problem, relative_gap
from .solvers import SOLVER_MODULES
from .worker import _emit, _warm_up_problem, measured, warning_texts
from .parent import run_solver_process
from .report import _fmt_mib, print_header, write_outputs
from .path_mode import describe_with_grid

#: Solvers of ``--cv`` and how their LassoCV is built.
CV_SOLVERS = ("fastsparse", "sklearn")

CV_METHODS = {
    "fastsparse": "`fastsparse.LassoCV(alphas=grid, cv=folds, n_jobs=n_jobs, tol=tol, "
                  "fit_intercept=...)`, other parameters at their defaults (folds fitted "
                  "on the full X with held-out rows at weight zero, joblib threads).",
    "sklearn": "`sklearn.linear_model.LassoCV(alphas=grid, cv=folds, n_jobs=n_jobs, "
               "tol=tol, fit_intercept=...)`, other parameters at their defaults "
               "(copy_X=True, max_iter=1000 epochs; each fold fits a row slice X[train], "
               "joblib threads).",
}


def make_cv_estimator(solver, alphas, fit_intercept, tol, folds, n_jobs):
    """A solver's unfitted LassoCV on an explicit grid (see :data:`CV_METHODS`)."""
    kwargs = dict(alphas=np.asarray(alphas, dtype=np.float64), cv=folds, n_jobs=n_jobs,
                  tol=tol, fit_intercept=fit_intercept)
    if solver == "fastsparse":
        from fastsparse import LassoCV
    elif solver == "sklearn":
        from sklearn.linear_model import LassoCV
    else:
        raise ValueError(f"--cv compares {', '.join(CV_SOLVERS)}, not {solver!r}")
    return LassoCV(**kwargs)


def run_cv_worker(spec):
    """Child-process entry point of ``--cv``: warm up on a slice, then one timed fit.

    Parameters
    ----------
    spec : dict
        ``mode="cv", solver, alphas, fit_intercept, tols`` (one tol), ``folds, n_jobs,
        preset, target, cache_dir``. The point reports the fit time, the increase of peak
        RSS during the fit, the selected alpha, its non-zeros and the script's relative gap
        of the refitted model.
    """
    start = time.perf_counter()
    importlib.import_module(SOLVER_MODULES[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_problem(spec["preset"], spec["target"], spec["cache_dir"])
    start = time.perf_counter()
    X_w, y_w, _ = _warm_up_problem(X, y, spec["fit_intercept"], 1.0)
    a_w = alpha_max(X_w, y_w, 1.0, spec["fit_intercept"])
    grid_w = np.geomspace(a_w, a_w / 100, 5) if a_w > 0 else np.full(5, 1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_cv_estimator(spec["solver"], grid_w, spec["fit_intercept"], 1e-4,
                          spec["folds"], spec["n_jobs"]).fit(X_w, y_w)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    tol = spec["tols"][0]
    est = make_cv_estimator(spec["solver"], spec["alphas"], spec["fit_intercept"], tol,
                            spec["folds"], spec["n_jobs"])
    _emit("start", tol=tol)
    _, seconds, memory, caught = measured(lambda: est.fit(X, y))
    _emit("fitted", tol=tol)
    coef = np.asarray(est.coef_, dtype=np.float64).ravel()
    intercept = float(est.intercept_) if spec["fit_intercept"] else 0.0
    gap = relative_gap(X, y, coef, intercept, float(est.alpha_), 1.0, spec["fit_intercept"])
    _emit("point", tol=tol, seconds=seconds, rel_gap=gap, alpha=float(est.alpha_),
          nnz=int(np.count_nonzero(coef)), min_cv_mse=float(est.mse_path_.mean(axis=1).min()),
          peak_extra_mib=memory.extra_mib, memory_method=memory.method,
          n_warnings=len(caught), warnings=warning_texts(caught))


def format_cv_table(results, x_mib, a_max, timeout):
    """Markdown table of ``--cv`` and how each LassoCV was built."""
    header = ["solver", "fit time (s)", "ratio to fastsparse", "peak extra memory (MiB)",
              "peak / size of X", "alpha_ / alpha_max", "nnz", "min mean CV MSE",
              "refit rel gap (script)", "warnings"]
    fs = results.get("fastsparse")
    fs_point = fs["points"][0] if fs and fs["points"] else None
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, res in results.items():
        point = res["points"][0] if res["points"] else None
        if point is None:
            status = f"> {timeout:g}" if res["status"] == "timeout" else res["status"]
            lines.append("| " + " | ".join([name, status] + ["-"] * (len(header) - 2))
                         + " |")
            continue
        ratio = f"{point['seconds'] / fs_point['seconds']:.2f}" if fs_point else "-"
        peak = point["peak_extra_mib"]
        cells = [name, f"{point['seconds']:.2f}", ratio, _fmt_mib(peak),
                 f"{peak / x_mib:.2f}" if x_mib > 0 else "-", f"1/{a_max / point['alpha']:.4g}",
                 str(point["nnz"]), f"{point['min_cv_mse']:.6g}", f"{point['rel_gap']:.1e}",
                 str(point["n_warnings"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, res in results.items():
        lines.append(f"- {name}: {CV_METHODS[name]}")
        for message in (res["points"][0]["warnings"] if res["points"] else [])[:3]:
            lines.append(f"  - warning: {message}")
    return "\n".join(lines)


def run_cv_comparison(args):
    """Time and peak memory of each solver's k-fold LassoCV; prints the report.

    Each solver fits once in a fresh worker process (after a warm-up on a slice), which
    measures the wall time and the increase of peak RSS during the fit.

    Returns
    -------
    report : dict
        Machine, problem, grid and per-solver results (what ``--json`` writes).
    """
    problem, grid = describe_with_grid(args)

    info, x_mib = print_header(
        problem,
        f"{args.cv_folds}-fold LassoCV, n_jobs={args.n_jobs}, fit_intercept="
        f"{args.fit_intercept}, tol={args.cv_tol:g}, the same {args.n_alphas} alphas "
        f"from alpha_max = {grid[0]:.6g} down to {grid[-1]:.6g} for every solver. "
        f"Peak extra memory: increase of the worker's peak RSS during fit, relative "
        f"to the size of X (data + indices + indptr).")

    base = dict(mode="cv", alphas=grid.tolist(), fit_intercept=args.fit_intercept,
                tols=[args.cv_tol], folds=args.cv_folds,
                n_jobs=args.n_jobs, preset=args.preset, target=args.target,
                cache_dir=args.cache_dir)
    solvers = {}
    for solver in args.solvers:
        if solver not in CV_SOLVERS:
            print(f"(--cv: {solver} skipped; it compares {', '.join(CV_SOLVERS)})")
            continue
        solvers[solver] = run_solver_process(dict(base, solver=solver), args.timeout)
        solvers[solver]["method"] = CV_METHODS[solver]
    print(format_cv_table(solvers, x_mib, grid[0], args.timeout) + "\n", flush=True)

    report = dict(machine=info, problem=problem, mode="cv", alphas=grid.tolist(),
                  folds=args.cv_folds, n_jobs=args.n_jobs, tol=args.cv_tol,
                  timeout=args.timeout, results=solvers)
    write_outputs(report, args)
    return report
