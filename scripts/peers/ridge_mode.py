"""--model ridge: single Ridge fits at equal accuracy of the coefficients."""

import importlib.util
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from .problems import default_target, load_problem, matrix_nbytes, primal_dual
from .worker import _emit, _warm_up_problem
from .parent import run_solver_process
from .report import _describe_problem, format_machine, machine_info, write_outputs

#: Solvers of ``--model ridge`` and the module each needs: fastsparse's Ridge
#: (``solver="auto"``) and scikit-learn's Ridge with each of its sparse solvers. With an
#: intercept on sparse X, scikit-learn 1.9 refuses saga, and runs sag only when
#: ``max_iter=None`` and ``tol > 1e-4`` (silently sparse_cg otherwise): a rung whose
#: ``solver_`` is not the one asked for does not count for that solver.
RIDGE_SOLVERS = {
    "fastsparse": "fastsparse",
    "sklearn-sparse_cg": "sklearn",
    "sklearn-lsqr": "sklearn",
    "sklearn-sag": "sklearn",
    "sklearn-saga": "sklearn",
}

#: Default accuracies of ``--model ridge``: relative errors of the coefficients.
DEFAULT_RIDGE_REL_ERR = (1e-4, 1e-6)


def make_ridge_estimator(solver, alpha, fit_intercept, tol):
    """A solver's unfitted Ridge for one rung of the ladder.

    Parameters
    ----------
    solver : str
        A key of :data:`RIDGE_SOLVERS`.
    alpha : float
        scikit-learn's Ridge alpha (objective ``||y - Xw - b||^2 + alpha ||w||^2``).
    fit_intercept : bool
    tol : float
        The solver's own tolerance (fastsparse: certified relative error of the
        coefficients; scikit-learn: relative residual for sparse_cg, atol/btol for lsqr,
        change of the coefficients for sag/saga).

    Returns
    -------
    estimator : object
    """
    if solver == "fastsparse":
        from fastsparse import Ridge
        return Ridge(alpha=alpha, tol=tol, fit_intercept=fit_intercept, max_iter=10**6)
    if solver in RIDGE_SOLVERS:
        from sklearn.linear_model import Ridge
        name = solver.split("-", 1)[1]
        # sparse_cg / lsqr: scipy's own iteration caps; saga: epochs, raised so that
        # only tol decides (--timeout bounds the work); sag: None, the only value with
        # which scikit-learn runs sag with an intercept on sparse X.
        max_iter = 10**6 if name == "saga" else None
        return Ridge(alpha=alpha, tol=tol, fit_intercept=fit_intercept, solver=name,
                     max_iter=max_iter, random_state=0)
    raise ValueError(f"unknown ridge solver {solver!r}; choose from {sorted(RIDGE_SOLVERS)}")


def ridge_certificate(X, y, coef, alpha, fit_intercept=True):
    """This script's own certified relative error of ridge coefficients.

    The Ridge objective ``1/2 ||y_c - X_c w||^2 + alpha/2 ||w||^2`` is alpha-strongly
    convex, so ``||w - w*|| <= ||g|| / alpha`` with g its gradient
    ``X_c^T (y_c - X_c w) - alpha w``. Computed with scipy.sparse products only (X_c never
    formed: X_c^T u = X^T u - xbar sum(u), X_c w = X w - xbar.w).

    Returns
    -------
    bound : float
        ``||g|| / (alpha ||w||)``, an upper bound on ``||w - w*|| / ||w||``.
    """
    w = np.asarray(coef, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64)
    Xw = np.asarray(X @ w, dtype=np.float64).ravel()
    if fit_intercept:
        xbar = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        r = (y - y.mean()) - (Xw - xbar @ w)
        grad = np.asarray(X.T @ r, dtype=np.float64).ravel() - xbar * r.sum()
    else:
        r = y - Xw
        grad = np.asarray(X.T @ r, dtype=np.float64).ravel()
    grad -= alpha * w
    return float(np.linalg.norm(grad) / (alpha * np.linalg.norm(w)))


def ridge_reference(X, y, alpha, fit_intercept=True, tol=1e-11):
    """Tight reference solution (fastsparse CG), checked by :func:`ridge_certificate`.

    Returns (coef, intercept, bound) with bound the script's own certified relative error.
    """
    from fastsparse import Ridge

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tol at rounding level may just miss
        ref = Ridge(alpha=alpha, tol=tol, solver="cg", fit_intercept=fit_intercept,
                    max_iter=10**6).fit(X, y)
    coef = np.asarray(ref.coef_, dtype=np.float64)
    return coef, float(ref.intercept_), ridge_certificate(X, y, coef, alpha, fit_intercept)


def run_ridge_worker(spec):
    """Child-process entry point of ``--model ridge``: warm up, then fit each rung.

    Parameters
    ----------
    spec : dict
        ``mode="ridge", solver, alpha, fit_intercept, tols, rel_err`` (the tightest
        accuracy wanted), ``reference`` (path of an ``.npy`` file holding the reference
        coefficients), ``preset, target, cache_dir`` and optionally ``repeat``. Each point
        reports the fit time, the relative error of the coefficients against the
        reference and the script's relative duality gap (elastic-net scale,
        ``alpha / n_samples`` and ``l1_ratio = 0``). Stops at the first rung within
        ``rel_err``.
    """
    start = time.perf_counter()
    importlib.import_module(RIDGE_SOLVERS[spec["solver"]])
    import_seconds = time.perf_counter() - start
    X, y = load_problem(spec["preset"], spec["target"], spec["cache_dir"])
    w_ref = np.load(spec["reference"])
    start = time.perf_counter()
    X_w, y_w, _ = _warm_up_problem(X, y, spec["fit_intercept"], 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_ridge_estimator(spec["solver"], spec["alpha"], spec["fit_intercept"],
                             1e-4).fit(X_w, y_w)
    _emit("warmup", seconds=import_seconds + time.perf_counter() - start)

    n = X.shape[0]
    for tol in spec["tols"]:
        _emit("start", tol=tol)
        best = None
        for _ in range(spec.get("repeat", 1)):
            est = make_ridge_estimator(spec["solver"], spec["alpha"], spec["fit_intercept"],
                                       tol)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                est.fit(X, y)
                seconds = time.perf_counter() - t0
            best = seconds if best is None else min(best, seconds)
        messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
        coef = np.asarray(est.coef_, dtype=np.float64).ravel()
        intercept = float(np.ravel(est.intercept_)[0]) if spec["fit_intercept"] else 0.0
        rel_err = float(np.linalg.norm(coef - w_ref) / np.linalg.norm(w_ref))
        primal, dual = primal_dual(X, y, coef, intercept, spec["alpha"] / n, 0.0,
                                   spec["fit_intercept"])
        _emit("point", tol=tol, seconds=best, rel_err=rel_err, primal=primal, dual=dual,
              rel_gap=(primal - dual) / primal if primal > 0 else 0.0,
              solver_used=getattr(est, "solver_", None),
              n_iter=np.ravel(np.asarray(est.n_iter_, dtype=float)).tolist()
              if getattr(est, "n_iter_", None) is not None else None,
              warnings=messages)
        if rel_err <= spec["rel_err"]:
            break


def ridge_time_to(points, rel_err, solver=None):
    """First rung of the ladder whose coefficients are within ``rel_err``, or None.

    For ``sklearn-<name>`` solvers, rungs where scikit-learn ran another solver
    (``solver_`` differs) are skipped.
    """
    want = solver.split("-", 1)[1] if solver and solver.startswith("sklearn-") else None
    return next((p for p in points if p["rel_err"] <= rel_err
                 and (want is None or p.get("solver_used") in (None, want))), None)


def _round_speedups(results, rel_errs):
    """{rel_err: (fastest peer's time / fastsparse's, its name, its time)} of one round's
    results, for the accuracies both fastsparse and some peer reached."""
    fs = results.get("fastsparse")
    out = {}
    for e in rel_errs:
        fs_point = ridge_time_to(fs["points"], e) if fs else None
        peers = {name: ridge_time_to(res["points"], e, name)
                 for name, res in results.items() if name != "fastsparse"}
        peers = {name: p["seconds"] for name, p in peers.items() if p is not None}
        if fs_point is not None and peers:
            best = min(peers, key=peers.get)
            out[e] = (peers[best] / fs_point["seconds"], best, peers[best])
    return out


def format_ridge_rounds(rounds, rel_errs):
    """Markdown table of the speed-up of every round (:func:`run_ridge_comparison`'s
    ``--rounds``), with the median, smallest and largest per accuracy; "" for one round."""
    if len(rounds) < 2:
        return ""
    header = ["round"] + [f"speed-up at rel err <= {e:g}" for e in rel_errs]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    per_err = {e: [] for e in rel_errs}
    for r, results in enumerate(rounds):
        speedups = _round_speedups(results, rel_errs)
        cells = [str(r + 1)]
        for e in rel_errs:
            if e in speedups:
                ratio, best, _ = speedups[e]
                per_err[e].append(ratio)
                cells.append(f"{ratio:.2f}x ({best})")
            else:
                cells.append("-")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for e in rel_errs:
        v = per_err[e]
        if v:
            lines.append(f"rel err <= {e:g}: speed-up over the fastest scikit-learn solver "
                         f"in {len(v)} rounds: median **{np.median(v):.2f}x**, smallest "
                         f"{min(v):.2f}x, largest {max(v):.2f}x.")
    return "\n".join(lines)


def format_ridge_table(results, rel_errs, timeout):
    """Markdown table of one alpha: time to each accuracy, per solver, and the speed-ups.

    Parameters
    ----------
    results : dict
        Solver name -> result of :func:`run_solver_process` (``points`` with ``rel_err``).
    rel_errs : sequence of float
        Accuracies (relative errors of the coefficients) to report.
    timeout : float
        The per-fit timeout, shown for solvers that timed out.

    Returns
    -------
    text : str
    """
    header = ["solver"]
    for e in rel_errs:
        header += [f"time to rel err <= {e:g} (s)", "tol used", "ratio to fastsparse"]
    header += ["best rel err reached", "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    fs = results.get("fastsparse")
    fs_times = {e: (ridge_time_to(fs["points"], e) or {}).get("seconds") if fs else None
                for e in rel_errs}
    summary = [f"rel err <= {e:g}: fastest scikit-learn solver {best} {seconds:.3f} s, "
               f"fastsparse {fs_times[e]:.3f} s: speed-up **{ratio:.2f}x**"
               for e, (ratio, best, seconds) in _round_speedups(results, rel_errs).items()]
    for name, res in results.items():
        cells = [name]
        for e in rel_errs:
            p = ridge_time_to(res["points"], e, name)
            if p is not None:
                ratio = (f"{p['seconds'] / fs_times[e]:.2f}" if fs_times[e] else "-")
                cells += [f"{p['seconds']:.3f}", f"{p['tol']:.0e}", ratio]
            elif res["status"] == "timeout":
                cells += [f"> {timeout:g}", f"{res['timeout_tol']:.0e} timed out", "-"]
            else:
                cells += ["not reached", "-", "-"]
        best_err = min((p["rel_err"] for p in res["points"]), default=None)
        cells.append("-" if best_err is None else f"{best_err:.1e}")
        notes = [res.get("error", "")] if res["status"] == "error" else []
        used = {p.get("solver_used") for p in res["points"] if p.get("solver_used")}
        if used:
            notes.append("solver_=" + "/".join(sorted(used)))
        cells.append("; ".join(n for n in notes if n) or "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + [""] + summary)


def run_ridge_comparison(args):
    """``--model ridge``: every (alpha, solver) ladder, timed at equal coefficient accuracy.

    For each ``--ridge-alpha``, a tight reference solution is computed once (fastsparse CG
    at tol 1e-11, checked by this script's own gradient certificate) and every solver
    walks its tolerance ladder until its coefficients are within the smallest
    ``--rel-err`` of the reference (relative Euclidean error).

    Returns
    -------
    report : dict
    """
    from fastsparse.ridge import choose_solver

    X, y = load_problem(args.preset, args.target, args.cache_dir)
    problem = _describe_problem(args, X, y)
    info = machine_info()
    print(format_machine(info) + "\n")
    print(f"Data: preset {args.preset} ({args.target} target), {X.shape[0]} x {X.shape[1]}, "
          f"nnz {X.nnz}, X = {matrix_nbytes(X) / 2**20:.1f} MiB. Model ridge "
          f"(||y - Xw - b||^2 + alpha ||w||^2), fit_intercept={args.fit_intercept}; "
          f"fastsparse solver='auto' picks "
          f"{choose_solver(X.shape[0], X.shape[1], X.nnz, [1.0])!r} here. Accuracy: "
          f"relative error of the coefficients against a reference.\n", flush=True)
    entries = []
    with tempfile.TemporaryDirectory(prefix="ridge-ref-") as tmp:
        for alpha in args.ridge_alpha:
            start = time.perf_counter()
            coef, _, bound = ridge_reference(X, y, alpha, args.fit_intercept)
            ref_seconds = time.perf_counter() - start
            ref_path = str(Path(tmp) / f"ref-{alpha:g}.npy")
            np.save(ref_path, coef)
            base = dict(mode="ridge", alpha=alpha, fit_intercept=args.fit_intercept,
                        rel_err=min(args.rel_err), repeat=args.repeat, preset=args.preset,
                        target=args.target, cache_dir=args.cache_dir, reference=ref_path,
                        tols=list(args.tols))
            # Every solver's ladder in turn, --rounds times: round r of all solvers is
            # a side-by-side run (this machine's speed drifts between minutes).
            rounds = []
            for _ in range(args.rounds):
                rounds.append({solver: run_solver_process(dict(base, solver=solver),
                                                          args.timeout)
                               for solver in args.solvers})
            solvers = rounds[0]
            entries.append(dict(alpha=alpha, reference_bound=bound,
                                reference_seconds=ref_seconds, solvers=solvers,
                                later_rounds=rounds[1:]))
            rel_errs = sorted(args.rel_err, reverse=True)
            print(f"### alpha = {alpha:g} (reference: certified relative error "
                  f"{bound:.1e} by this script, {ref_seconds:.1f} s)\n")
            print(format_ridge_table(solvers, rel_errs, args.timeout) + "\n", flush=True)
            table = format_ridge_rounds(rounds, rel_errs)
            if table:
                print(table + "\n", flush=True)
    report = dict(machine=info, problem=problem, tols=args.tols, rel_err=args.rel_err,
                  timeout=args.timeout, results=entries)
    write_outputs(report, args)
    return report


def _check_ridge_args(parser, args):
    """Options of ``--model ridge`` (the ladder and timeout options are shared)."""
    if args.path or args.cv:
        parser.error("--path and --cv compare Lasso: not with --model ridge")
    if any(a <= 0 for a in args.ridge_alpha) or any(e <= 0 for e in args.rel_err):
        parser.error("--ridge-alpha and --rel-err values must be positive")
    if args.repeat < 1 or args.timeout <= 0 or any(t <= 0 for t in args.tols):
        parser.error("--repeat must be >= 1, --timeout and --tols positive")
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    args.tols = sorted(set(args.tols), reverse=True)
    args.solvers = args.solvers or [s for s, m in RIDGE_SOLVERS.items()
                                    if importlib.util.find_spec(m) is not None]
    wrong = [s for s in args.solvers if s not in RIDGE_SOLVERS]
    if wrong:
        parser.error(f"--model ridge compares {', '.join(RIDGE_SOLVERS)}; not {wrong}")
    if "fastsparse" in args.solvers:
        args.solvers = ["fastsparse"] + [s for s in args.solvers if s != "fastsparse"]
    args.target = args.target or default_target(args.preset)
