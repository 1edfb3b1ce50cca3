#!/usr/bin/env python
"""Compare fastsparse with scikit-learn, skglm and celer at equal accuracy.

Speed is only comparable at equal accuracy, and every solver means something different by
its ``tol``. So this script does not trust any solver's own stopping rule: for each solver
it walks a ladder of that solver's tolerance parameter, from loose to tight, and computes
the relative duality gap of every returned ``(coef_, intercept_)`` itself (see
:func:`relative_gap`). The first rung whose gap is within ``--rel-gap`` is the solver's
result; its wall time (``time.perf_counter`` around ``fit`` only) is the reported time.
All rungs together give the suboptimality-versus-time curves of ``--plot``.

Every solver runs in child processes of this script (``--worker``), which load the data
from the on-disk cache of :func:`fastsparse.datasets.fetch_preset`:

- the *ladder* process warms the solver up on a small slice of the same data (so JIT
  compilation is not timed), then fits each rung. The parent kills it when one fit takes
  longer than ``--timeout``, and the solver is reported as ``> timeout``. For fastsparse
  this process starts with an empty Numba cache, so its warm-up measures the real
  import + compile + first fit cost, reported separately;
- a fresh *memory* process refits the chosen rung alone and measures the increase of the
  peak resident set size during that fit (Linux: peak RSS reset through
  ``/proc/self/clear_refs`` just before the fit; elsewhere ``ru_maxrss`` after minus
  before, a lower bound). Its warm-up time is fastsparse's first fit with the on-disk
  Numba cache.

``--path`` compares whole Lasso paths instead: every solver gets the same grid of
``--n-alphas`` alphas from alpha_max down to ``--eps * alpha_max`` (computed once by this
script, respecting the intercept) and its ladder stops at the first tolerance whose
WORST relative gap over the grid is within ``--rel-gap`` (the time is the whole path).
The report says how each peer's path was run (:data:`PATH_METHODS`). Paths can also be
compared with glmnet (``--solvers glmnet``, the glmnet-rs port of R glmnet's C++ core,
installed by the ``bench`` extra), whose ``thresh`` is the ladder's tol: its default is
1e-7. ``--cv`` times a
k-fold ``LassoCV`` of fastsparse and scikit-learn on such a grid and reports its peak
extra memory relative to the size of X.

Run ``python scripts/compare_peers.py --help`` for the options and examples. The code is
in the package ``scripts/peers/``, one module per job: ``problems`` (data, alpha_max, the
script's own duality gap), ``solvers`` (the peers' estimators), ``worker`` and ``parent``
(the child processes and their timeouts), ``report`` (tables, plots), and one module per
mode (``path_mode``, ``cv_mode``, ``ridge_mode``, ``logistic_mode``). This file is the
command line; it re-exports the functions the tests use.
"""

import argparse
import importlib.util
import json
import sys
from pathlib import Path

# scripts/ is not a package: make peers importable when this file is run as a script
# or loaded by path (tests, workers).
_SCRIPTS = str(Path(__file__).resolve().parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

from peers.problems import alpha_max, default_target, load_problem  # noqa: E402
from peers.solvers import (  # noqa: E402
    DEFAULT_TOLS,
    PATH_SOLVER_MODULES,
    SOLVER_MODULES,
    installed_solvers,
)
from peers.worker import run_worker  # noqa: E402
from peers.parent import compare_solvers  # noqa: E402
from peers.report import (  # noqa: E402
    _describe_problem,
    plot_curves,
    print_entry,
    print_header,
    write_outputs,
)
from peers.path_mode import run_path_comparison, run_path_worker  # noqa: E402
from peers.cv_mode import CV_SOLVERS, run_cv_comparison, run_cv_worker  # noqa: E402
from peers.ridge_mode import (  # noqa: E402
    DEFAULT_RIDGE_REL_ERR,
    RIDGE_SOLVERS,
    _check_ridge_args,
    run_ridge_comparison,
    run_ridge_worker,
)
from peers.logistic_mode import (  # noqa: E402
    LOGISTIC_SOLVERS,
    _check_logistic_args,
    run_logistic_comparison,
    run_logistic_worker,
)
# Re-exported for the tests and for interactive use (python -i compare_peers.py).
from peers.logistic_mode import (  # noqa: E402,F401
    logistic_c_min,
    logistic_primal_dual,
    make_logistic_estimator,
)
from peers.path_mode import (  # noqa: E402,F401
    alpha_path_grid,
    path_relative_gaps,
    run_path,
    summarize_path_gaps,
)
from peers.problems import primal_dual, relative_gap  # noqa: E402,F401
from peers.ridge_mode import (  # noqa: E402,F401
    make_ridge_estimator,
    ridge_certificate,
    ridge_reference,
    ridge_time_to,
)

_EXAMPLE = """\
example:
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py \\
      --preset rcv1 --model lasso --alpha-ratio 10 100 --rel-gap 1e-6 \\
      --solvers fastsparse sklearn skglm celer --timeout 300 \\
      --plot rcv1.png --json rcv1.json
  # whole paths: 100 alphas down to alpha_max/1000, worst gap over the grid <= 1e-6
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --path \\
      --preset rcv1 --n-alphas 100 --eps 1e-3 --rel-gap 1e-6 --timeout 200
  # the same path with glmnet: its default thresh (1e-7), then tighter ones
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --path \\
      --preset rcv1 --solvers fastsparse glmnet --tols 1e-6 1e-7 1e-10 1e-13 1e-16
  # 5-fold LassoCV: time and peak memory relative to the size of X
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --cv \\
      --preset rcv1 --n-alphas 100 --cv-folds 5 --n-jobs 2
  # L1 logistic without intercept, then 10 more rounds of every solver at its chosen
  # rung, side by side: per-round ratios and their median (machine speed drifts)
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --model logistic \\
      --preset rcv1 --alpha-ratio 30 50 --no-fit-intercept --repeat 5 --rounds 11 \\
      --solvers fastsparse sklearn-liblinear --no-cold-compile --no-memory-run
  # Ridge: time to a relative error of the coefficients, against scikit-learn's solvers
  FASTSPARSE_CACHE_DIR=/tmp/fs-cache python scripts/compare_peers.py --model ridge \\
      --preset rcv1 --target regression --ridge-alpha 1 1e-3 --rel-err 1e-4 1e-6 \\
      --timeout 120
"""


def build_parser():
    """The argparse parser of the command line."""
    from fastsparse.datasets import PRESETS

    parser = argparse.ArgumentParser(
        description="Time fastsparse against scikit-learn, skglm and celer at equal "
                    "accuracy (relative duality gap computed by this script).",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="rcv1", choices=sorted(PRESETS),
                        help="dataset preset (default: rcv1)")
    parser.add_argument("--model", default="lasso",
                        choices=["lasso", "enet", "ridge", "logistic"],
                        help="lasso, elastic net, ridge (scikit-learn's Ridge "
                             "objective; uses --ridge-alpha and --rel-err), or logistic "
                             "(L1, classification labels, C = --alpha-ratio * C_min)")
    parser.add_argument("--l1-ratio", type=float, default=0.5,
                        help="l1_ratio of --model enet, in (0, 1] (default: 0.5)")
    parser.add_argument("--alpha-ratio", type=float, nargs="+", default=[10.0, 100.0],
                        help="alpha = alpha_max / ratio; several allowed (default: 10 100)")
    parser.add_argument("--target", choices=["regression", "labels"], default=None,
                        help="regression target, or classification labels in {-1, +1} used "
                             "as a regression target (default: labels for rcv1/news20/url, "
                             "regression otherwise)")
    parser.add_argument("--fit-intercept", action=argparse.BooleanOptionalAction,
                        default=True, help="fit an intercept (default: yes)")
    parser.add_argument("--rel-gap", type=float, default=1e-6,
                        help="required relative duality gap (default: 1e-6)")
    parser.add_argument("--solvers", nargs="+",
                        choices=sorted(set(PATH_SOLVER_MODULES) | set(RIDGE_SOLVERS)
                                           | set(LOGISTIC_SOLVERS)),
                        default=None, help="solvers to compare (default: all installed)")
    parser.add_argument("--tols", type=float, nargs="+", default=list(DEFAULT_TOLS),
                        help="tolerance ladder, loose to tight (default: 1e-2 ... 1e-12)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds one fit may take before the solver is reported as "
                             "'> timeout' (default: 300)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="fits per rung, keeping the best time; use 3-5 when fits take "
                             "milliseconds (default: 1)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="single fits (lasso, enet, logistic) and --path: after the "
                             "ladders, fit every solver again at its chosen rung (a whole "
                             "path with --path) this many times in all, in turn, and report "
                             "the per-round ratio to the fastest peer with its median; "
                             "--model ridge: run every solver's ladder this many times, in "
                             "turn (default: 1)")
    parser.add_argument("--cold-compile", action=argparse.BooleanOptionalAction,
                        default=True, help="time fastsparse's first fit with an empty "
                                           "Numba cache (default: yes)")
    parser.add_argument("--memory-run", action=argparse.BooleanOptionalAction, default=True,
                        help="measure peak memory in a fresh process refitting the chosen "
                             "rung (default: yes; otherwise the ladder's measurement)")
    parser.add_argument("--cache-dir", default=None,
                        help="dataset cache (default: $FASTSPARSE_CACHE_DIR or "
                             "~/.cache/fastsparse)")
    parser.add_argument("--plot", metavar="PNG", help="save suboptimality-vs-time curves")
    parser.add_argument("--json", metavar="PATH", help="save all measurements as JSON")
    parser.add_argument("--path", action="store_true",
                        help="compare whole Lasso paths instead of single fits: the same "
                             "grid of --n-alphas alphas down to --eps * alpha_max for every "
                             "solver, each run until its WORST relative gap over the grid "
                             "is within --rel-gap (--alpha-ratio is ignored)")
    parser.add_argument("--n-alphas", type=int, default=100,
                        help="number of alphas of --path (default: 100)")
    parser.add_argument("--eps", type=float, default=1e-3,
                        help="alpha_min / alpha_max of --path (default: 1e-3)")
    parser.add_argument("--cv", action="store_true",
                        help="time and peak memory of a k-fold LassoCV fit (fastsparse and "
                             "sklearn) on the grid of --n-alphas and --eps, instead of single "
                             "fits; uses --cv-folds, --n-jobs and --cv-tol")
    parser.add_argument("--cv-folds", type=int, default=5,
                        help="folds of --cv (default: 5)")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="n_jobs of the LassoCV of --cv (default: 2)")
    parser.add_argument("--cv-tol", type=float, default=1e-4,
                        help="tol of every LassoCV of --cv, the scikit-learn default and "
                             "the same criterion in both (default: 1e-4)")
    parser.add_argument("--ridge-alpha", type=float, nargs="+", default=[1.0, 1e-3],
                        help="alphas of --model ridge, scikit-learn's Ridge scale "
                             "(default: 1 1e-3)")
    parser.add_argument("--rel-err", type=float, nargs="+",
                        default=list(DEFAULT_RIDGE_REL_ERR),
                        help="--model ridge accuracies: relative errors of the coefficients "
                             "against a tight reference (default: 1e-4 1e-6)")
    parser.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    return parser


def _check_args(parser, args):
    """Validate option values argparse cannot check by itself."""
    if args.model == "ridge":
        return _check_ridge_args(parser, args)
    if args.model == "logistic":
        return _check_logistic_args(parser, args)
    if not 0.0 < args.l1_ratio <= 1.0:
        parser.error("--l1-ratio must be in (0, 1]")
    if any(r <= 0 for r in args.alpha_ratio):
        parser.error("--alpha-ratio values must be positive")
    if args.repeat < 1 or args.rounds < 1:
        parser.error("--repeat and --rounds must be >= 1")
    if args.rounds > 1 and args.cv:
        parser.error("--rounds is for single fits and --path, not --cv")
    if args.path and args.cv:
        parser.error("choose one of --path and --cv")
    if args.cv:
        if args.model != "lasso":
            parser.error("--cv compares LassoCV: use --model lasso")
        if args.cv_folds < 2 or args.cv_tol <= 0 or args.n_jobs == 0:
            parser.error("--cv-folds must be >= 2, --cv-tol positive, --n-jobs non-zero")
    if args.path or args.cv:
        if args.model != "lasso":
            parser.error("--path compares Lasso paths: use --model lasso")
        if args.n_alphas < 1 or not 0.0 < args.eps < 1.0:
            parser.error("--n-alphas must be >= 1 and --eps in (0, 1)")
    if args.rel_gap <= 0 or args.timeout <= 0 or any(t <= 0 for t in args.tols):
        parser.error("--rel-gap, --timeout and --tols must be positive")
    args.tols = sorted(set(args.tols), reverse=True)  # loose to tight
    default_solvers = list(CV_SOLVERS) if args.cv else installed_solvers(path=args.path)
    args.solvers = args.solvers or default_solvers
    other_model = [s for s in args.solvers if s not in PATH_SOLVER_MODULES]
    if other_model:
        parser.error(f"{', '.join(other_model)}: only with --model ridge or logistic")
    path_only = [s for s in args.solvers if s not in SOLVER_MODULES]
    if path_only and not args.path:
        parser.error(f"{', '.join(path_only)}: only with --path")
    missing = [s for s in args.solvers
               if importlib.util.find_spec(PATH_SOLVER_MODULES[s]) is None]
    if missing:
        parser.error(f"not installed: {', '.join(missing)}")
    if "fastsparse" in args.solvers:  # it is the reference of the ratio column: first
        args.solvers = ["fastsparse"] + [s for s in args.solvers if s != "fastsparse"]
    args.target = args.target or default_target(args.preset)


def run_comparison(args):
    """Run every (alpha, solver) comparison and print the report.

    Returns
    -------
    report : dict
        Machine, problem and per-alpha results (what ``--json`` writes).
    """
    l1_ratio = args.l1_ratio if args.model == "enet" else 1.0
    X, y = load_problem(args.preset, args.target, args.cache_dir)  # generates once
    problem = _describe_problem(args, X, y)
    a_max = alpha_max(X, y, l1_ratio, args.fit_intercept)
    del X, y  # the workers load their own copy; do not hold a second one meanwhile

    info, x_mib = print_header(
        problem, f"Model {args.model} (l1_ratio {l1_ratio:g}), fit_intercept="
        f"{args.fit_intercept}, alpha_max = {a_max:.6g}, required relative gap "
        f"{args.rel_gap:g}.")

    entries = []
    cold_pending = args.cold_compile
    for ratio in args.alpha_ratio:
        alpha = a_max / ratio
        base = dict(model=args.model, alpha=alpha, l1_ratio=l1_ratio,
                    fit_intercept=args.fit_intercept, rel_gap=args.rel_gap,
                    repeat=args.repeat, preset=args.preset, target=args.target,
                    cache_dir=args.cache_dir)
        solvers, cold_pending = compare_solvers(base, args, cold_pending)
        entries.append(dict(alpha_ratio=ratio, alpha=alpha, solvers=solvers))
        print_entry(f"alpha = alpha_max / {ratio:g} = {alpha:.6g}", solvers, x_mib,
                    args.timeout)

    report = dict(machine=info, problem=problem, alpha_max=a_max, tols=args.tols,
                  timeout=args.timeout, results=entries)
    write_outputs(report, args, lambda path: plot_curves(entries, args.rel_gap, path))
    return report


def main(argv=None):
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker is not None:
        spec = json.loads(args.worker)
        if spec.get("mode") == "path":
            run_path_worker(spec)
        elif spec.get("mode") == "cv":
            run_cv_worker(spec)
        elif spec.get("mode") == "ridge":
            run_ridge_worker(spec)
        elif spec.get("mode") == "logistic":
            run_logistic_worker(spec)
        else:
            run_worker(spec)
        return 0
    _check_args(parser, args)
    if args.model == "ridge":
        run_ridge_comparison(args)
    elif args.model == "logistic":
        run_logistic_comparison(args)
    elif args.path:
        run_path_comparison(args)
    elif args.cv:
        run_cv_comparison(args)
    else:
        run_comparison(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
