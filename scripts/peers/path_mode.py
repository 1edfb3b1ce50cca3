"""Path mode (--path): a whole regularization path per rung of the ladder."""

import importlib
import time
import warnings

import numpy as np

from .problems import alpha_max, load_problem, relative_gap
from .solvers import PATH_SOLVER_MODULES
from .worker import _emit, _warm_up_problem, measured, warning_texts
from .parent import compare_solvers
from .report import (
    _describe_problem,
    _fmt_mib,
    fastest_peer,
    format_rounds,
    ladder_cells,
    print_header,
    speedup_lines,
    write_outputs,
)

#: How each solver's path is run, by ``fit_intercept``: the text of the report.
PATH_METHODS = {
    ("fastsparse", True): "`fastsparse.lasso_path(X, y, alphas=grid, tol=tol, "
                          "tol_scale='objective', fit_intercept=True, max_iter=10_000)`: "
                          "one call (tol is the relative gap of every alpha); intercepts "
                          "from `result.intercepts`.",
    ("fastsparse", False): "`fastsparse.lasso_path(X, y, alphas=grid, tol=tol, "
                           "tol_scale='objective', fit_intercept=False, "
                           "max_iter=10_000)`: one call (tol is the relative gap of every "
                           "alpha).",
    ("sklearn", True): "loop over the grid of one `sklearn.linear_model.Lasso(alpha=a, "
                       "tol=tol, max_iter=10**6, fit_intercept=True, warm_start=True, "
                       "copy_X=False)`, refitted at each alpha (warm-started from the "
                       "previous coef_): sklearn's `lasso_path` fits no intercept and "
                       "needs centered data, which would densify sparse X.",
    ("sklearn", False): "`sklearn.linear_model.lasso_path(X, y, alphas=grid, tol=tol, "
                        "max_iter=10**6, copy_X=False)`: one call.",
    ("celer", True): "`celer.celer_path(X, y - ybar, 'lasso', alphas=grid, tol=tol, "
                     "max_iter=10_000, prune=1, X_offset=xbar, X_scale=ones)`: one call; "
                     "celer centers sparse X implicitly through its documented X_offset "
                     "(the column means; what `celer.Lasso.fit` passes for one alpha), and "
                     "the intercepts are `ybar - xbar @ coef`.",
    ("celer", False): "`celer.celer_path(X, y, 'lasso', alphas=grid, tol=tol, "
                      "max_iter=10_000, prune=1)`: one call.",
    ("skglm", True): "`skglm.Lasso(tol=tol, max_iter=10_000, fit_intercept=True)"
                     ".path(X, y, grid)` (AndersonCD.path, warm-started; the intercept is "
                     "the last row of the returned coefs): one call.",
    ("skglm", False): "`skglm.Lasso(tol=tol, max_iter=10_000, fit_intercept=False)"
                      ".path(X, y, grid)` (AndersonCD.path, warm-started): one call.",
    ("glmnet", True): "`glmnetrs.glmnet(X, y, lambda_=grid, standardize=False, "
                      "intercept=True, thresh=tol, maxit=GLMNET_MAXIT)`: one call "
                      "(glmnet-rs, a port of R glmnet's C++ core; thresh bounds the "
                      "largest objective change of a coordinate update relative to the "
                      "null deviance; glmnet's default is 1e-7). Includes the wrapper's "
                      "conversion of X's index arrays to Python lists. Should glmnet end "
                      "the path early (its pmax / dfmax caps; its deviance rules apply "
                      "to its own grid only), the alphas it did not reach count as not "
                      "certified (gap inf).",
    ("glmnet", False): "`glmnetrs.glmnet(X, y, lambda_=grid, standardize=False, "
                       "intercept=False, thresh=tol, maxit=GLMNET_MAXIT)`: one call, as "
                       "with an intercept.",
}

#: Short label of each path method, for the table.
PATH_LABELS = {
    ("fastsparse", True): "lasso_path", ("fastsparse", False): "lasso_path",
    ("sklearn", True): "Lasso(warm_start) loop", ("sklearn", False): "lasso_path",
    ("celer", True): "celer_path + X_offset", ("celer", False): "celer_path",
    ("skglm", True): "Lasso.path", ("skglm", False): "Lasso.path",
    ("glmnet", True): "glmnet (glmnet-rs)", ("glmnet", False): "glmnet (glmnet-rs)",
}

#: glmnet's maxit, its cap on the passes over the data of the whole path (1e5 by
#: default): set far above that, so that only thresh decides, as with the other
#: solvers' iteration caps.
GLMNET_MAXIT = 10**9


def alpha_path_grid(X, y, n_alphas, eps, fit_intercept):
    """Geometric grid from :func:`alpha_max` down to ``eps * alpha_max`` (decreasing).

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix, never centered.
    y : ndarray of shape (n_samples,)
        Target.
    n_alphas : int
        Number of alphas.
    eps : float
        ``alpha_min / alpha_max``.
    fit_intercept : bool
        Whether alpha_max accounts for an intercept.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The grid every solver is given.
    """
    a_max = alpha_max(X, y, 1.0, fit_intercept)
    if not a_max > 0:
        raise ValueError("alpha_max is zero: the target is constant (or X is zero).")
    return np.geomspace(a_max, a_max * eps, num=n_alphas)


def _path_column(coefs, k):
    """Column k of a dense or sparse (n_features, n_alphas) coefficient matrix."""
    if hasattr(coefs, "tocsc"):
        return np.asarray(coefs[:, [k]].toarray(), dtype=np.float64).ravel()
    return np.asarray(coefs[:, k], dtype=np.float64)


def path_relative_gaps(X, y, coefs, intercepts, alphas, fit_intercept):
    """Relative duality gap (:func:`relative_gap`) at every alpha of a returned path.

    Parameters
    ----------
    X : scipy.sparse matrix of shape (n_samples, n_features)
        Design matrix.
    y : ndarray of shape (n_samples,)
        Target.
    coefs : ndarray or scipy.sparse matrix of shape (n_features, n_alphas)
        Returned coefficients, one column per alpha.
    intercepts : array-like of shape (n_alphas,)
        Returned intercepts (ignored when ``fit_intercept=False``).
    alphas : array-like of shape (n_alphas,)
        The grid.
    fit_intercept : bool
        Whether the intercept was fitted.

    Returns
    -------
    gaps : ndarray of shape (n_alphas,)
        Lasso relative gap of each column, computed from the residual only.
    """
    return np.array([
        relative_gap(X, y, _path_column(coefs, k), float(intercepts[k]) if fit_intercept
                     else 0.0, float(a), 1.0, fit_intercept)
        for k, a in enumerate(alphas)
    ])


def summarize_path_gaps(gaps, rel_gap):
    """Worst and median relative gap over the grid, and how many alphas exceed ``rel_gap``.

    Returns
    -------
    summary : dict
        ``worst_rel_gap``, ``median_rel_gap``, ``n_above`` and ``worst_index``.
    """
    gaps = np.asarray(gaps, dtype=np.float64)
    return dict(worst_rel_gap=float(gaps.max()), median_rel_gap=float(np.median(gaps)),
                n_above=int(np.count_nonzero(gaps > rel_gap)),
                worst_index=int(np.argmax(gaps)))


def _csc_from_columns(columns, n_features):
    """CSC matrix of shape (n_features, len(columns)) from (indices, values) pairs."""
    import scipy.sparse as sp

    indptr = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum([idx.size for idx, _ in columns], out=indptr[1:])
    indices = (np.concatenate([idx for idx, _ in columns]) if columns
               else np.zeros(0, dtype=np.int64))
    data = np.concatenate([val for _, val in columns]) if columns else np.zeros(0)
    return sp.csc_matrix((data, indices, indptr), shape=(n_features, len(columns)))


def run_path(solver, X, y, alphas, fit_intercept, tol):
    """Run one solver's Lasso path over ``alphas`` as :data:`PATH_METHODS` describes.

    Parameters
    ----------
    solver : {"fastsparse", "sklearn", "skglm", "celer", "glmnet"}
        Which library.
    X : scipy.sparse.csc_matrix of shape (n_samples, n_features)
        Design matrix (never densified or centered here).
    y : ndarray of shape (n_samples,)
        Target.
    alphas : ndarray of shape (n_alphas,)
        Decreasing grid.
    fit_intercept : bool
        Whether to fit an intercept.
    tol : float
        The solver's own tolerance parameter, the same at every alpha.

    Returns
    -------
    coefs : ndarray or scipy.sparse matrix of shape (n_features, n_alphas)
        Coefficients, one column per alpha.
    intercepts : ndarray of shape (n_alphas,)
        Intercepts (zeros without intercept).
    extra : dict
        ``alpha_seconds`` (time from the start to the end of each alpha, when the solver
        lets it be observed), fastsparse's per-alpha ``n_iters`` and ``n_epochs``, and
        ``n_solved`` when the solver ended the path before its last alpha (glmnet: the
        columns from ``n_solved`` on are zeros, not solutions).
    """
    n_alphas = len(alphas)
    alphas = np.asarray(alphas, dtype=np.float64)
    extra = {}
    start = time.perf_counter()
    if solver == "fastsparse":
        from fastsparse import lasso_path

        stamps, epochs = [], []

        def callback(progress):
            stamps.append(time.perf_counter() - start)
            epochs.append(int(progress.result.n_epochs))

        # tol_scale="objective": tol is the relative gap G / P of every alpha, the
        # quantity this benchmark requires (the default scale, scikit-learn's null
        # deviance, needs a 100x tighter tol at the last alphas of a long path).
        res = lasso_path(X, y, alphas=alphas, tol=tol, fit_intercept=fit_intercept,
                         max_iter=10_000, callback=callback, tol_scale="objective")
        coefs, intercepts = res.coefs, np.asarray(res.intercepts, dtype=np.float64)
        extra = dict(alpha_seconds=stamps, n_epochs=epochs,
                     n_iters=[int(i) for i in res.n_iters])
    elif solver == "sklearn" and fit_intercept:
        from sklearn.linear_model import Lasso

        est = Lasso(alpha=float(alphas[0]), tol=tol, max_iter=10**6, fit_intercept=True,
                    warm_start=True, copy_X=False)
        columns, intercepts, stamps = [], np.empty(n_alphas), []
        for k, alpha in enumerate(alphas):
            est.set_params(alpha=float(alpha))
            est.fit(X, y)
            nz = np.flatnonzero(est.coef_)
            columns.append((nz, est.coef_[nz].copy()))
            intercepts[k] = float(est.intercept_)
            stamps.append(time.perf_counter() - start)
        coefs = _csc_from_columns(columns, X.shape[1])
        extra = dict(alpha_seconds=stamps)
    elif solver == "sklearn":
        from sklearn.linear_model import lasso_path

        _, coefs, _ = lasso_path(X, y, alphas=alphas, tol=tol, max_iter=10**6,
                                 copy_X=False)
        intercepts = np.zeros(n_alphas)
    elif solver == "celer":
        from celer import celer_path

        kwargs = dict(alphas=alphas, tol=tol, max_iter=10_000, prune=1)
        if fit_intercept:
            xbar = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
            ybar = float(y.mean())
            out = celer_path(X, y - ybar, "lasso", X_offset=xbar,
                             X_scale=np.ones(X.shape[1]), **kwargs)
            coefs = out[1]
            intercepts = ybar - xbar @ coefs
        else:
            coefs = celer_path(X, y, "lasso", **kwargs)[1]
            intercepts = np.zeros(n_alphas)
    elif solver == "skglm":
        import skglm

        est = skglm.Lasso(tol=tol, max_iter=10_000, fit_intercept=fit_intercept)
        coefs = est.path(X, y, alphas)[1]
        if fit_intercept:
            coefs, intercepts = coefs[:-1], np.array(coefs[-1], dtype=np.float64)
        else:
            intercepts = np.zeros(n_alphas)
    elif solver == "glmnet":
        from glmnetrs import glmnet

        fit = glmnet(X, y, lambda_=alphas, standardize=False, intercept=fit_intercept,
                     thresh=tol, maxit=GLMNET_MAXIT)
        if fit.warning:
            warnings.warn(f"glmnet: {fit.warning}")
        n_solved = min(int(fit.lmu), n_alphas)
        intercepts = np.zeros(n_alphas)
        if fit_intercept:
            intercepts[:n_solved] = np.asarray(fit.a0, dtype=np.float64)[:n_solved]
        # beta is dense (n_features, lmu): keep its non-zeros only, one column per alpha,
        # with empty columns for the alphas the path did not reach.
        beta = np.asarray(fit.beta, dtype=np.float64)
        del fit
        columns = []
        for k in range(n_solved):
            nz = np.flatnonzero(beta[:, k])
            columns.append((nz, beta[nz, k]))
        del beta
        columns += [(np.zeros(0, np.int64), np.zeros(0))] * (n_alphas - n_solved)
        coefs = _csc_from_columns(columns, X.shape[1])
        if n_solved < n_alphas:
            extra = dict(n_solved=n_solved)
    else:
        raise ValueError(f"unknown solver {solver!r}; choose from "
                         f"{sorted(PATH_SOLVER_MODULES)}")
    return coefs, intercepts, extra


def _timed_path(spec, X, y, tol):
    """Run one rung's path; return its output, wall time, memory and warnings."""
    alphas = np.asarray(spec["alphas"], dtype=np.float64)
    out, seconds, memory, caught = measured(
        lambda: run_path(spec["solver"], X, y, alphas, spec["fit_intercept"], tol))
    return out, seconds, memory, warning_texts(caught)


def run_path_worker(spec):
    """Child-process entry point of ``--path``: warm up, then run the path per rung.

    Parameters
    ----------
    spec : dict
        ``mode="path", solver, alphas, fit_intercept, tols, rel_gap, preset, target,
        cache_dir`` and optionally ``repeat``. A rung's point carries the worst relative
        gap over the grid as ``rel_gap``; stops after the first rung whose worst gap is
        within ``spec["rel_gap"]``.
    """
    start = time.perf_counter()
    importlib.import_module(PATH_SOLVER_MODULES[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_problem(spec["preset"], spec["target"], spec["cache_dir"])
    start = time.perf_counter()
    X_w, y_w, _ = _warm_up_problem(X, y, spec["fit_intercept"], 1.0)
    a_w = alpha_max(X_w, y_w, 1.0, spec["fit_intercept"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_path(spec["solver"], X_w, y_w, np.geomspace(a_w, a_w / 100, 5) if a_w > 0
                 else np.full(5, 1e-3), spec["fit_intercept"], 1e-4)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    alphas = np.asarray(spec["alphas"], dtype=np.float64)
    for tol in spec["tols"]:
        _emit("start", tol=tol)
        (coefs, intercepts, extra), seconds, memory, messages = _timed_path(spec, X, y, tol)
        for _ in range(spec.get("repeat", 1) - 1):
            seconds = min(seconds, _timed_path(spec, X, y, tol)[1])
        _emit("fitted", tol=tol)  # the gaps below take a while: not part of the timeout
        gaps = path_relative_gaps(X, y, coefs, intercepts, alphas, spec["fit_intercept"])
        gaps[extra.get("n_solved", len(alphas)):] = np.inf  # alphas the path never reached
        summary = summarize_path_gaps(gaps, spec["rel_gap"])
        last = _path_column(coefs, len(alphas) - 1)
        _emit("point", tol=tol, seconds=seconds, rel_gap=summary["worst_rel_gap"],
              median_rel_gap=summary["median_rel_gap"], n_above=summary["n_above"],
              worst_index=summary["worst_index"], gaps=gaps.tolist(),
              nnz=int(np.count_nonzero(last)),
              nnz_path=[int(np.count_nonzero(_path_column(coefs, k)))
                        for k in range(len(alphas))],
              peak_extra_mib=memory.extra_mib, memory_method=memory.method,
              warnings=messages, **extra)
        del coefs, intercepts
        if summary["worst_rel_gap"] <= spec["rel_gap"]:
            break


def format_path_table(results, x_mib, timeout, fit_intercept):
    """Markdown table of ``--path``, the speed-up line and how each path was run.

    Parameters
    ----------
    results : dict
        Solver name -> summary from :func:`compare_solvers` (points of the path worker).
    x_mib : float
        Size of X in MiB.
    timeout : float
        The per-path timeout.
    fit_intercept : bool
        Whether the intercept was fitted (selects the method descriptions).

    Returns
    -------
    text : str
        The report of one path comparison.
    """
    header = ["solver", "path run as", "path time (s)", "ratio to fastsparse",
              "worst rel gap", "median rel gap", "alphas above gap", "nnz at last alpha",
              "peak extra memory (MiB)", "peak / size of X", "tol used"]
    fs = results.get("fastsparse")
    fs_seconds = fs["chosen"]["seconds"] if fs and fs["chosen"] else None
    best = fastest_peer(results)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, res in results.items():
        chosen = res["chosen"]
        shown, time_cell, ratio, tol_cell = ladder_cells(res, fs_seconds, timeout, 2)
        if chosen is None and shown is not None:
            tol_cell += f" (best shown: tol {shown['tol']:.0e}, {shown['seconds']:.2f} s)"
        memory = res["memory"] or chosen
        peak = memory["peak_extra_mib"] if memory else None
        cells = [
            name, PATH_LABELS[(name, fit_intercept)], time_cell, ratio,
            f"{shown['rel_gap']:.1e}" if shown else "-",
            f"{shown['median_rel_gap']:.1e}" if shown else "-",
            f"{shown['n_above']}/{len(shown['gaps'])}" if shown else "-",
            str(shown["nnz"]) if shown else "-",
            _fmt_mib(peak), f"{peak / x_mib:.2f}" if peak is not None and x_mib > 0 else "-",
            tol_cell,
        ]
        if name == best:
            cells[0], cells[2] = f"**{cells[0]}**", f"**{cells[2]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += speedup_lines(results, best, fs_seconds, gap="worst gap",
                           subject="fastsparse's path")
    lines.append("")
    lines.append("How each path was run (grid, gaps and times identical for all; the gap "
                 "of every alpha is computed by this script from the returned coefficients "
                 "and intercept, outside the timed region):")
    lines.append("")
    for name in results:
        lines.append(f"- {name}: {PATH_METHODS[(name, fit_intercept)]}")
    return "\n".join(lines)


def plot_path_curves(results, rel_gap, path):
    """Worst relative gap over the grid versus path time, one curve per solver."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, res in results.items():
        if not res["points"]:
            continue
        ordered = sorted(res["points"], key=lambda p: p["seconds"])
        t = np.array([p["seconds"] for p in ordered])
        worst = np.array([max(p["rel_gap"], 1e-16) for p in ordered])
        line, = ax.step(t, np.minimum.accumulate(worst), where="post", label=name)
        ax.plot(t, worst, "o", color=line.get_color(), alpha=0.6)
    ax.axhline(rel_gap, color="grey", linestyle=":", label="requested rel gap")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("path time (s)")
    ax.set_ylabel("worst relative gap over the grid")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def describe_with_grid(args):
    """The problem of ``args`` (:func:`_describe_problem`) and its alpha grid
    (:func:`alpha_path_grid` with ``--n-alphas`` and ``--eps``). The data are not kept:
    the workers load their own copy."""
    X, y = load_problem(args.preset, args.target, args.cache_dir)
    return (_describe_problem(args, X, y),
            alpha_path_grid(X, y, args.n_alphas, args.eps, args.fit_intercept))


def run_path_comparison(args):
    """Run the ``--path`` comparison of every solver and print the report.

    Returns
    -------
    report : dict
        Machine, problem, grid and per-solver results (what ``--json`` writes).
    """
    problem, grid = describe_with_grid(args)

    info, x_mib = print_header(
        problem,
        f"Lasso path, fit_intercept={args.fit_intercept}: {args.n_alphas} alphas from "
        f"alpha_max = {grid[0]:.6g} down to {grid[-1]:.6g} (eps {args.eps:g}), "
        f"geometric, computed once by this script and given to every solver. Required: "
        f"worst relative gap over the grid <= {args.rel_gap:g}. Timeout per path: "
        f"{args.timeout:g} s.")

    base = dict(mode="path", alphas=grid.tolist(), fit_intercept=args.fit_intercept,
                rel_gap=args.rel_gap, repeat=args.repeat, preset=args.preset,
                target=args.target, cache_dir=args.cache_dir)
    # With --rounds, every solver's chosen rung is run again, in turn, after the ladders:
    # one side-by-side pair of path times per round.
    solvers, _ = compare_solvers(base, args, args.cold_compile)
    for solver, res in solvers.items():
        res["method"] = PATH_METHODS[(solver, args.fit_intercept)]
    print(format_path_table(solvers, x_mib, args.timeout, args.fit_intercept) + "\n",
          flush=True)
    rounds = format_rounds(solvers)
    if rounds:
        print(rounds + "\n", flush=True)

    report = dict(machine=info, problem=problem, mode="path", alphas=grid.tolist(),
                  n_alphas=args.n_alphas, eps=args.eps, tols=args.tols,
                  timeout=args.timeout, results=solvers)
    write_outputs(report, args,
                  lambda path: plot_path_curves(solvers, args.rel_gap, path))
    return report
