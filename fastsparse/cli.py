"""The ``fastsparse`` command line: fit, paths, cross-validation and feature selection.

Run ``fastsparse --help`` (or ``python -m fastsparse --help``) for the commands and a
worked example. Every command reads a data file (svmlight/libsvm text, a scipy.sparse
``.npz``, or a memory-mapped dataset directory written by :func:`fastsparse.io.save_csc`),
runs the library's public API on it and writes one JSON document (or CSV) to
stdout or to ``--output FILE``.

Conventions the tests rely on:

- stdout carries only the result. Progress bars (``-v``) and anything the library prints
  while it works go to stderr.
- A problem the user can cause (missing or unreadable file, shape mismatch, NaN/inf,
  bad parameter) ends the process with ONE line ``fastsparse: error: <message>`` on
  stderr and no traceback: exit code 2 for command-line usage errors (as argparse),
  1 for data errors. Ctrl-C exits with 130. Anything else is a bug and keeps its
  traceback.
- ``--output`` and ``--plot`` files are written to a temporary file in the same
  directory and renamed into place, so a failure never leaves a half-written file.
- JSON is strict (``NaN`` and infinities become ``null``).
"""

import argparse
import contextlib
import csv
import io
import json
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = ["main", "build_parser"]

PROG = "fastsparse"

# --------------------------------------------------------------------------------------
# Help texts (argparse epilogs, shown verbatim by RawDescriptionHelpFormatter)
# --------------------------------------------------------------------------------------

_TOP_EPILOG = """\
worked example (a generated problem, nothing downloaded):
  fastsparse generate data.svm --n-samples 1000 --n-features 5000 --n-informative 20
  fastsparse select data.svm --n-features 20          # the 20 best features (Lasso path)
  fastsparse fit data.svm --alpha 0.001 --top 10      # one Lasso fit, certified by its gap
  fastsparse path data.svm --n-alphas 50 --plot path.png
  fastsparse cv data.svm --cv 5 --n-jobs 2 --output cv.json

data files: svmlight/libsvm text (.svm .svmlight .libsvm .txt, optionally .gz/.bz2; the
target is the label column), scipy.sparse .npz (with --target FILE or --target-column N),
or a directory written by fastsparse.io.save_csc. Feature indices in the output are the
0-based columns of X (one less than the feature ids of a one-based svmlight file).

`python -m fastsparse` with no arguments runs the built-in demo (also: `fastsparse demo`).
Exit codes: 0 success, 1 data error, 2 usage error, 130 interrupted.
"""

_FIT_EPILOG = """\
example:
  fastsparse generate data.svm
  fastsparse fit data.svm --model enet --alpha 0.001 --l1-ratio 0.5 --top 10
  fastsparse fit data.svm --format csv --output coef.csv

  Without --alpha (or --C) the penalty is alpha_max / 10 (logistic: C = 10 C_min), where
  alpha_max is the smallest alpha giving an all-zero model. relative_gap is the duality
  gap divided by the null model's scale that --tol is compared with: the fit is
  certified when relative_gap <= tol.
"""

_PATH_EPILOG = """\
example:
  fastsparse generate data.svm
  fastsparse path data.svm --n-alphas 50 --eps 1e-3 --plot path.png
  fastsparse generate clf.svm --task classification
  fastsparse path clf.svm --model logistic --format csv

  One JSON entry per alpha (logistic: per C, with alpha = 1 / (C n)): n_nonzero,
  dual_gap, relative_gap, dev_ratio (fraction of the null deviance explained).
"""

_CV_EPILOG = """\
example:
  fastsparse generate data.svm
  fastsparse cv data.svm --cv 5 --n-jobs 2 --plot cv.png
  fastsparse cv data.svm --model enet --l1-ratio 0.3 0.7 1.0 --selection-rule 1se

  Lasso/enet: LassoCV / ElasticNetCV (mean held-out MSE per alpha, alpha_min and the
  sparser alpha_1se); logistic: LogisticRegressionCV (held-out score per C).
"""

_SELECT_EPILOG = """\
example:
  fastsparse generate data.svm --n-informative 20
  fastsparse select data.svm --n-features 20
  fastsparse select data.svm --alpha 0.001 --format csv --output selected.csv
"""

_GENERATE_EPILOG = """\
example:
  fastsparse generate data.svm --n-samples 2000 --n-features 10000 --n-informative 20
  fastsparse generate clf.svm.gz --task classification --seed 1

  Writes a one-based svmlight file (gzip/bz2 compressed when the name ends in .gz/.bz2)
  and prints a JSON summary with the indices of the truly informative columns.
"""


# --------------------------------------------------------------------------------------
# Errors and argument types
# --------------------------------------------------------------------------------------


class CLIError(Exception):
    """A problem the user can fix: reported as one line on stderr, exit code 1."""


class _UsageError(Exception):
    """A combination of options that argparse cannot check itself (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line (plus a pointer to --help)."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")


def _one_line(text):
    return " ".join(str(text).split())


def _number(kind, *, low=None, high=None, low_open=False, what=None):
    """An argparse ``type`` for a finite number in [low, high] (or (low, high])."""

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {what or kind.__name__}, got {text!r}") from None
        bad = not math.isfinite(value)
        bad = bad or (low is not None and (value <= low if low_open else value < low))
        bad = bad or (high is not None and value > high)
        if bad:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return convert


_POS_FLOAT = _number(float, low=0.0, low_open=True, what="a positive finite number")
_UNIT_FLOAT = _number(float, low=0.0, high=1.0, what="a number in [0, 1]")
_EPS_FLOAT = _number(float, low=0.0, high=1.0, low_open=True, what="a number in (0, 1]")
_POS_INT = _number(int, low=1, what="a positive integer")
_INT = _number(int, what="an integer")


def _n_jobs(text):
    value = _INT(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a non-zero integer (-1: all cores)")
    return value


def _cv_folds(text):
    value = _INT(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}")
    return value


# --------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------


def build_parser():
    """Build the argparse parser of the ``fastsparse`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        Parser with one subcommand per action (``generate``, ``fit``, ``path``, ``cv``,
        ``select``, ``demo``); ``parse_args`` sets ``args.func`` to its handler.
    """
    from . import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=PROG, formatter_class=fmt, epilog=_TOP_EPILOG,
                     description="Certified sparse linear and logistic models on sparse "
                                 "data files, from the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                title="commands (fastsparse COMMAND --help for details)")
    sub.required = True

    def data_args(p):
        g = p.add_argument_group("data")
        g.add_argument("data", metavar="DATA",
                       help="svmlight/libsvm file (.svm .svmlight .libsvm .txt[.gz|.bz2]), "
                            "scipy.sparse .npz, or a fastsparse.io.save_csc directory")
        tgt = g.add_mutually_exclusive_group()
        tgt.add_argument("--target", metavar="FILE",
                         help="target values: .npy or text, one per row (replaces an "
                              "svmlight file's labels)")
        tgt.add_argument("--target-column", metavar="N", type=_INT,
                         help="use column N of X (0-based, negative counts from the end) "
                              "as the target; the other columns are the features")
        g.add_argument("--feature-names", metavar="FILE",
                       help="text file with one feature name per line (n_features lines; "
                            "with --target-column the target's line may be included)")
        g.add_argument("--dtype", choices=("float64", "float32"), default=None,
                       help="value dtype of X (default: float64 for svmlight text, the "
                            "stored dtype for .npz and directories: a memory-mapped "
                            "directory is then used without a copy)")

    def model_args(p, models, default="lasso", multi_l1=False):
        g = p.add_argument_group("model")
        g.add_argument("--model", choices=models, default=default,
                       help=f"model (default: {default})")
        if multi_l1:
            g.add_argument("--l1-ratio", metavar="R", type=_UNIT_FLOAT, nargs="+",
                           help="L1/L2 mix in [0, 1] (enet: default 0.5, several values "
                                "are searched; logistic: default 1.0)")
        else:
            g.add_argument("--l1-ratio", metavar="R", type=_UNIT_FLOAT,
                           help="L1/L2 mix in [0, 1] (enet: default 0.5; logistic: "
                                "default 1.0)")
        g.add_argument("--no-intercept", dest="fit_intercept", action="store_false",
                       help="do not fit an intercept")
        g.add_argument("--tol", type=_POS_FLOAT, default=1e-6,
                       help="relative duality-gap tolerance (default: 1e-6)")
        g.add_argument("--max-iter", type=_POS_INT, default=100,
                       help="maximum outer (working-set) iterations per fit (default: 100)")
        return g

    def output_args(p, top="list only the K features of largest |coef|"):
        g = p.add_argument_group("output")
        g.add_argument("--format", choices=("json", "csv"), default="json",
                       help="json (default) or csv")
        g.add_argument("--output", "-o", metavar="FILE",
                       help="write here (atomically) instead of stdout")
        if top:
            g.add_argument("--top", metavar="K", type=_POS_INT, help=top)
        g.add_argument("--verbose", "-v", action="count", default=0,
                       help="progress on stderr: fit prints the solver's iterations; "
                            "path, cv and select show a progress bar (-vv: and the "
                            "solver's iterations)")

    def add(name, help_, epilog):
        p = sub.add_parser(name, help=help_, description=help_, epilog=epilog,
                           formatter_class=fmt)
        data_args(p)
        return p

    p = add("fit", "fit one model at one penalty and list its non-zero coefficients",
            _FIT_EPILOG)
    g = model_args(p, ("lasso", "enet", "ridge", "logistic"))
    pen = g.add_mutually_exclusive_group()
    pen.add_argument("--alpha", type=_POS_FLOAT,
                     help="penalty (default: alpha_max / 10; ridge: 1.0, scikit-learn's "
                          "Ridge scale; logistic: alpha = 1 / (C n))")
    pen.add_argument("--C", dest="C", type=_POS_FLOAT,
                     help="inverse penalty of --model logistic (default: 10 C_min)")
    output_args(p)
    p.set_defaults(func=_cmd_fit)

    p = add("path", "regularization path over a geometric grid of alphas", _PATH_EPILOG)
    g = model_args(p, ("lasso", "enet", "logistic"))
    g.add_argument("--n-alphas", type=_POS_INT, default=None,
                   help="grid size (default: 100; logistic: 20 values of C)")
    g.add_argument("--eps", type=_EPS_FLOAT, default=None,
                   help="alpha_min / alpha_max (default: 1e-3; logistic: C_min / C_max, "
                        "1e-2)")
    p.add_argument("--plot", metavar="FILE",
                   help="save plot_path's figure (needs matplotlib)")
    output_args(p, top="list the first K features to enter the path (default: 10)")
    p.set_defaults(func=_cmd_path)

    p = add("cv", "choose alpha (and l1_ratio) by K-fold cross-validation", _CV_EPILOG)
    g = model_args(p, ("lasso", "enet", "logistic"), multi_l1=True)
    g.add_argument("--cv", type=_cv_folds, default=5, help="number of folds (default: 5)")
    g.add_argument("--n-jobs", type=_n_jobs, default=None,
                   help="folds fitted in parallel threads (default: 1; -1: all cores)")
    g.add_argument("--n-alphas", type=_POS_INT, default=None,
                   help="grid size (default: 100; logistic: 10 values of C)")
    g.add_argument("--eps", type=_EPS_FLOAT, default=1e-3,
                   help="alpha_min / alpha_max of the grid (default: 1e-3; not logistic)")
    g.add_argument("--selection-rule", choices=("min", "1se"), default="min",
                   help="refit at the best alpha (min) or the sparser alpha within one "
                        "standard error (1se)")
    g.add_argument("--scoring", choices=("neg_log_loss", "accuracy", "roc_auc"),
                   default=None, help="held-out score of --model logistic "
                                      "(default: neg_log_loss)")
    p.add_argument("--plot", metavar="FILE",
                   help="save plot_cv's figure (lasso/enet; needs matplotlib)")
    output_args(p)
    p.set_defaults(func=_cmd_cv)

    p = add("select", "select features: the K best, or those of a Lasso at one alpha",
            _SELECT_EPILOG)
    g = model_args(p, ("lasso", "enet", "logistic"))
    how = g.add_mutually_exclusive_group(required=True)
    how.add_argument("--n-features", metavar="K", type=_POS_INT,
                     help="select (about) K features along the regularization path")
    how.add_argument("--alpha", type=_POS_FLOAT, help="select the features at this alpha "
                     "(logistic: alpha = 1 / (C n))")
    how.add_argument("--C", dest="C", type=_POS_FLOAT,
                     help="select the features of --model logistic at this C")
    g.add_argument("--n-alphas", type=_POS_INT, default=100,
                   help="grid size of the path searched for K features (default: 100)")
    g.add_argument("--eps", type=_EPS_FLOAT, default=1e-3,
                   help="alpha_min / alpha_max of that grid (default: 1e-3)")
    output_args(p)
    p.set_defaults(func=_cmd_select)

    p = sub.add_parser("generate", help="write a generated sparse problem as svmlight",
                       description="Generate a text-like sparse problem "
                                   "(fastsparse.datasets.make_sparse_data) and write it "
                                   "as an svmlight file.",
                       epilog=_GENERATE_EPILOG, formatter_class=fmt)
    p.add_argument("out", metavar="OUT", help="svmlight file to write")
    p.add_argument("--n-samples", type=_POS_INT, default=1000, help="rows (default: 1000)")
    p.add_argument("--n-features", type=_POS_INT, default=5000,
                   help="columns (default: 5000)")
    p.add_argument("--n-informative", type=_POS_INT, default=20,
                   help="non-zero true coefficients (default: 20)")
    p.add_argument("--density", type=_number(float, low=0.0, high=0.5, low_open=True,
                                             what="a number in (0, 0.5]"),
                   default=None, help="fraction of stored entries (default: 1%%)")
    p.add_argument("--task", choices=("regression", "classification"),
                   default="regression", help="target type (default: regression)")
    p.add_argument("--seed", type=_number(int, low=0, what="an integer >= 0"), default=0,
                   help="random seed (default: 0)")
    p.set_defaults(func=_cmd_generate)

    from .io import _CONVERT_DESCRIPTION, _CONVERT_HELP, add_convert_arguments

    p = sub.add_parser("convert", help=_CONVERT_HELP, description=_CONVERT_DESCRIPTION,
                       epilog=_CONVERT_EPILOG, formatter_class=fmt)
    add_convert_arguments(p)
    p.set_defaults(func=_cmd_convert)

    # Listed for --help only: main() hands "demo ..." to fastsparse.demo before parsing.
    sub.add_parser("demo", help="run the built-in demo (`python -m fastsparse`; "
                                "`fastsparse demo --help` for its options)")
    return parser


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def main(argv=None):
    """Run the ``fastsparse`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 for a data error, 2 for a usage error, 130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if argv[:1] == ["demo"]:
        # The demo parses its own options (argparse.REMAINDER cannot pass "--preset").
        from .demo import main as demo_main

        return demo_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        _check_early(args)
        return args.func(args)
    except _UsageError as exc:
        print(f"{PROG}: error: {_one_line(exc)} (see '{PROG} {args.command} --help')",
              file=sys.stderr)
        return 2
    except CLIError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `fastsparse ... | head`: the reader left; nothing more to say. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _check_early(args):
    """Cheap checks of options and paths, before any data is read."""
    model = getattr(args, "model", None)
    l1 = getattr(args, "l1_ratio", None)
    if model in ("lasso", "ridge") and l1 is not None:
        raise _UsageError(f"--l1-ratio does not apply to --model {model}")
    if model == "logistic" and isinstance(l1, list) and len(l1) > 1:
        raise _UsageError("--model logistic takes a single --l1-ratio")
    if args.command == "select" and l1 is not None and model != "enet":
        raise _UsageError(f"--l1-ratio does not apply to select --model {model} (pure L1)")
    if args.command == "select" and l1 == 0:
        raise _UsageError("--l1-ratio 0 is ridge, which selects nothing; use a value > 0")
    if getattr(args, "C", None) is not None and model != "logistic":
        raise _UsageError("--C is for --model logistic; use --alpha")
    if args.command in ("path", "cv") and model == "enet":
        ratios = l1 if isinstance(l1, list) else [l1]
        if any(r is not None and r == 0 for r in ratios):
            raise _UsageError("--l1-ratio 0 has no automatic alpha grid; use a value > 0")
    if args.command == "cv":
        if model != "logistic" and args.scoring is not None:
            raise _UsageError("--scoring is for --model logistic (lasso/enet use the MSE)")
        if model == "logistic" and args.plot:
            raise _UsageError("--plot draws the MSE curve of lasso/enet, not logistic")
    for opt in ("output", "plot", "out"):
        target = getattr(args, opt, None)
        if target:
            parent = Path(target).expanduser().resolve().parent
            if not parent.is_dir():
                raise CLIError(f"{'OUT' if opt == 'out' else '--' + opt}: directory "
                               f"{parent} does not exist")
    if getattr(args, "plot", None):
        _check_plot_target(args.plot)
    for opt in ("data", "target", "feature_names"):
        value = getattr(args, opt, None)
        if value is not None and not Path(value).expanduser().exists():
            what = "data file" if opt == "data" else opt.replace("_", "-") + " file"
            raise CLIError(f"{what} not found: {value}")


# --------------------------------------------------------------------------------------
# Data loading
# --------------------------------------------------------------------------------------


class _Data:
    """The loaded problem: X (canonical CSC), y, optional names and load time."""

    def __init__(self, X, y, names, path, load_seconds):
        self.X, self.y, self.names = X, y, names
        self.path, self.load_seconds = path, load_seconds


def _load(args):
    """Read DATA, the target and feature names as the options say; validate them."""
    t0 = time.perf_counter()
    path = Path(args.data).expanduser()
    dtype = None if args.dtype is None else np.dtype(args.dtype)
    names = _read_names(args.feature_names) if args.feature_names else None
    try:
        if path.is_dir():
            X, y = _load_directory(path)
        elif path.suffix == ".npz":
            from .datasets import load_npz

            X, y = load_npz(path)
        else:
            from .datasets import load_svmlight

            n_features = None
            if names is not None and args.target_column is None:
                n_features = len(names)  # keeps trailing all-zero columns
            X, y = load_svmlight(path, n_features=n_features,
                                 dtype=np.float64 if dtype is None else dtype)
    except (OSError, ValueError, EOFError) as exc:
        raise CLIError(_one_line(exc)) from None
    if X.dtype.kind not in "biuf":
        raise CLIError(f"{path}: X has non-numeric values (dtype {X.dtype})")
    if dtype is None and X.dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)  # e.g. an integer .npz
    if dtype is not None and X.dtype != dtype:
        X = X.astype(dtype)
    n_samples = X.shape[0]
    if args.target_column is not None:
        X, y = _pop_column(X, args.target_column)
        if names is not None and len(names) == X.shape[1] + 1:
            names = names[:args.target_column % len(names)] + \
                names[args.target_column % len(names) + 1:]
    elif args.target is not None:
        y = _read_target(args.target, n_samples)
    if y is None:
        raise CLIError(f"{path} holds no target: give --target FILE or --target-column N")
    y = np.asarray(y, dtype=np.float64).ravel()
    if n_samples < 2 or X.shape[1] < 1:
        raise CLIError(f"{path}: need at least 2 samples and 1 feature, got X of shape "
                       f"{X.shape}")
    if y.shape != (n_samples,):
        raise CLIError(f"the target has {y.size} values but X has {n_samples} rows")
    bad = _count_nonfinite(X.data)
    if bad:
        raise CLIError(f"{path}: X contains {bad} NaN or infinite value(s)")
    bad = np.count_nonzero(~np.isfinite(y))
    if bad:
        raise CLIError(f"the target contains {bad} NaN or infinite value(s)")
    if names is not None and len(names) != X.shape[1]:
        raise CLIError(f"--feature-names has {len(names)} names but X has {X.shape[1]} "
                       f"features")
    return _Data(X, y, names, path, time.perf_counter() - t0)


def _load_directory(path):
    """A dataset directory of :func:`fastsparse.io.save_csc`: (X, y or None), mmapped."""
    from .io import load_csc

    return load_csc(path, mmap=True)


def _count_nonfinite(values, block=1 << 22):
    """NaN/inf count in blocks: bounded memory on a memory-mapped array of any size."""
    return sum(int(np.count_nonzero(~np.isfinite(values[i:i + block])))
               for i in range(0, values.shape[0], block))


def _pop_column(X, column):
    """Split column ``column`` out of CSC ``X`` as a dense y, without densifying X.

    Copies ``data`` and ``indices`` once minus the column (a CSC matrix's columns are
    contiguous slices), and shifts ``indptr`` after it.
    """
    n, p = X.shape
    if not -p <= column < p:
        raise CLIError(f"--target-column {column} is out of range for {p} columns")
    if p < 2:
        raise CLIError("--target-column leaves no feature: X has a single column")
    j = column % p
    X = sp.csc_matrix(X)
    X.sum_duplicates()
    start, stop = int(X.indptr[j]), int(X.indptr[j + 1])
    y = np.zeros(n, dtype=np.float64)
    y[X.indices[start:stop]] = X.data[start:stop]
    data = np.concatenate((X.data[:start], X.data[stop:]))
    indices = np.concatenate((X.indices[:start], X.indices[stop:]))
    indptr = np.concatenate((X.indptr[:j + 1], X.indptr[j + 2:] - (stop - start)))
    return sp.csc_matrix((data, indices, indptr), shape=(n, p - 1)), y


def _read_target(name, n_samples):
    path = Path(name).expanduser()
    if not path.is_file():
        raise CLIError(f"target file not found: {name}")
    try:
        if path.suffix == ".npy":
            y = np.load(path, allow_pickle=False)
        else:
            y = np.loadtxt(path, dtype=np.float64, ndmin=1)
        y = np.asarray(y, dtype=np.float64)
    except (OSError, ValueError, EOFError, TypeError) as exc:
        raise CLIError(f"cannot read a target from {path}: {_one_line(exc)}") from None
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.ndim != 1:
        raise CLIError(f"the target in {path} must be one value per row, got shape "
                       f"{y.shape}")
    if y.shape[0] != n_samples:
        raise CLIError(f"the target in {path} has {y.shape[0]} values but X has "
                       f"{n_samples} rows")
    return y


def _read_names(name):
    path = Path(name).expanduser()
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read feature names from {path}: {_one_line(exc)}") from None


# --------------------------------------------------------------------------------------
# Running the library: stdout to stderr, warnings collected
# --------------------------------------------------------------------------------------


class _Run:
    """Context for a computation: the library's prints go to stderr, warnings are kept.

    The solvers print progress lines with ``print`` when tqdm is missing or ``verbose``
    is high: redirecting stdout keeps the command's stdout a clean JSON/CSV document.
    Warnings (e.g. ConvergenceWarning) are reported once each as ``fastsparse: warning:``
    lines and listed in the output. ValueErrors of the library calls made through
    :meth:`call` are user errors (DESIGN.md: every validation failure is a ValueError
    naming the problem); a ValueError anywhere else in this module is a bug and keeps
    its traceback.
    """

    def __enter__(self):
        self._redirect = contextlib.redirect_stdout(sys.stderr)
        self._redirect.__enter__()
        self._warn = warnings.catch_warnings(record=True)
        self.caught = self._warn.__enter__()
        warnings.simplefilter("always")
        # Deprecations are for developers, not for someone running a command.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, kind, exc, tb):
        self.seconds = time.perf_counter() - self.t0
        self._warn.__exit__(kind, exc, tb)
        self._redirect.__exit__(kind, exc, tb)
        return False

    @staticmethod
    def call(fn, *args, **kwargs):
        """Call the library; its ValueErrors (input checks) become user errors."""
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            raise CLIError(_one_line(exc)) from None

    def messages(self):
        seen = []
        for w in self.caught:
            text = f"{w.category.__name__}: {_one_line(w.message)}"
            if text not in seen:
                seen.append(text)
        return seen

    def converged(self):
        from sklearn.exceptions import ConvergenceWarning

        return not any(issubclass(w.category, ConvergenceWarning) for w in self.caught)


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


def _binary_labels(y):
    classes = np.unique(y)
    if classes.size < 2:
        raise CLIError(f"--model logistic needs at least 2 classes in the target, got "
                       f"{classes.size}")
    if classes.size > 50 and not np.all(classes == np.round(classes)):
        raise CLIError("--model logistic needs class labels; the target looks continuous "
                       f"({classes.size} distinct non-integer values)")
    return classes


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


def _cmd_fit(args):
    from . import ElasticNet, Lasso, LogisticRegression, Ridge, alpha_grid, logistic_c_min

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
            targets = [classes[1]] if classes.size == 2 else classes
            rel = [_ratio(g, C * _null_deviance_logistic(y == k, args.fit_intercept))
                   for g, k in zip(est.dual_gap_, targets)]
            report["classes"] = [float(c) for c in classes]
            binary = classes.size == 2
            coef = est.coef_[0] if binary else est.coef_
            intercept = float(est.intercept_[0]) if binary else est.intercept_
            gap = float(est.dual_gap_[0]) if binary else est.dual_gap_
            rel = rel[0] if binary else rel
    report["parameters"] = params
    report["alpha"] = params["alpha"]
    if "C" in params:
        report["C"] = params["C"]
    report["intercept"] = intercept
    report["n_selected"], report["selected"] = _selected(coef, data.names, args.top)
    report["dual_gap"] = gap
    report["relative_gap"] = rel
    report["converged"] = run.converged()
    report["timings"] = {"load_seconds": data.load_seconds, "fit_seconds": run.seconds}
    _report_warnings(report, run)
    _emit(args, report, _features_csv(report))
    return 0


def _cmd_path(args):
    from . import enet_path, logistic_path

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
        from .plotting import plot_path

        _save_plot(args.plot, lambda ax: plot_path(alphas, coefs, data.names, ax=ax))
        report["plot"] = args.plot
    _emit(args, report, _table_csv(rows))
    return 0


def _cmd_cv(args):
    from . import ElasticNetCV, LassoCV, LogisticRegressionCV

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
            binary = classes.size == 2
            coef = est.coef_[0] if binary else est.coef_
            intercept = float(est.intercept_[0]) if binary else est.intercept_
            gap = float(est.dual_gap_[0]) if binary else est.dual_gap_
            targets = [classes[1]] if binary else classes
            rel = [_ratio(g, C * _null_deviance_logistic(y == k, args.fit_intercept))
                   for g, k in zip(np.atleast_1d(est.dual_gap_), targets)]
            rel = rel[0] if binary else rel
            params = {"l1_ratio": l1, "n_Cs": n_Cs}
    params.update(cv=args.cv, selection_rule=args.selection_rule,
                  fit_intercept=args.fit_intercept, tol=args.tol, max_iter=args.max_iter)
    report["parameters"] = params
    report["n_folds"] = args.cv
    report["cv_path"] = rows
    report["intercept"] = intercept
    report["n_selected"], report["selected"] = _selected(coef, data.names, args.top)
    report["dual_gap"] = gap
    report["relative_gap"] = rel
    report["converged"] = run.converged()
    report["timings"] = {"load_seconds": data.load_seconds, "fit_seconds": run.seconds}
    _report_warnings(report, run)
    if args.plot:
        from .plotting import plot_cv

        _save_plot(args.plot, lambda ax: plot_cv(est, ax=ax))
        report["plot"] = args.plot
    _emit(args, report, _features_csv(report))
    return 0


def _cmd_select(args):
    try:
        from .selection import select_features
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


def _cmd_generate(args):
    from sklearn.datasets import dump_svmlight_file

    from .datasets import make_sparse_data

    if args.n_informative > args.n_features:
        raise _UsageError(f"--n-informative {args.n_informative} exceeds --n-features "
                          f"{args.n_features}")
    t0 = time.perf_counter()
    kw = {} if args.density is None else {"density": args.density}
    try:
        X, y, w_true = make_sparse_data(args.n_samples, args.n_features,
                                        n_informative=args.n_informative, task=args.task,
                                        random_state=args.seed, **kw)
    except ValueError as exc:
        raise CLIError(_one_line(exc)) from None

    def write(f):
        dump_svmlight_file(X, y, f, zero_based=False)

    out = Path(args.out).expanduser()
    opener = _compressed_opener(out)
    _write_atomic(out, write, binary=True, opener=opener)
    report = {
        "command": "generate", "output": str(out), "task": args.task,
        "n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "nnz": int(X.nnz),
        "seed": args.seed, "informative": [int(j) for j in np.flatnonzero(w_true)],
        "seconds": time.perf_counter() - t0,
    }
    sys.stdout.write(_dumps(report))
    return 0


_CONVERT_EPILOG = """\
example:
  fastsparse generate data.svm
  fastsparse convert data.svm data.csc     # memory-mappable directory (fastsparse.io)
  fastsparse select data.csc --n-features 10
"""


def _cmd_convert(args):
    from .io import convert_svmlight

    t0 = time.perf_counter()
    if Path(args.dst).expanduser().exists() and not args.overwrite:
        raise CLIError(f"{args.dst} already exists; pass --overwrite to replace it")
    try:
        meta = convert_svmlight(
            args.src, args.dst, n_features=args.n_features, dtype=args.dtype,
            index_dtype=args.index_dtype, zero_based=args.zero_based,
            chunk_lines=args.chunk_lines, overwrite=args.overwrite)
    except (OSError, ValueError, TypeError) as exc:
        raise CLIError(_one_line(exc)) from None
    n, p = meta["shape"]
    report = {
        "command": "convert", "source": str(args.src), "output": str(args.dst),
        "n_samples": int(n), "n_features": int(p), "nnz": int(meta["nnz"]),
        "dtypes": {k: str(np.dtype(v)) for k, v in meta["dtypes"].items()},
        "seconds": time.perf_counter() - t0,
    }
    sys.stdout.write(_dumps(report))
    return 0


def _compressed_opener(path):
    """gzip/bz2 writer for .gz/.bz2 names (load_svmlight reads them back), else None."""
    if path.suffix == ".gz":
        import gzip

        return lambda raw: gzip.GzipFile(fileobj=raw, mode="wb")
    if path.suffix == ".bz2":
        import bz2

        return lambda raw: bz2.BZ2File(raw, mode="wb")
    return None


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _jsonable(obj):
    """Plain JSON types; NaN and infinities become None (strict JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def _dumps(report):
    return json.dumps(_jsonable(report), indent=2, allow_nan=False) + "\n"


def _features_csv(report):
    rows = report["selected"]
    classes = report.get("classes") or []
    multi = len(classes) > 2
    header = ["index", "name"] + ([f"coef_{c:g}" for c in classes] if multi else ["coef"])
    body = [[r["index"], r.get("name", "")]
            + ([repr(float(c)) for c in r["coef"]] if multi else [repr(float(r["coef"]))])
            for r in rows]
    return [header] + body


def _table_csv(rows):
    header = list(rows[0]) if rows else []
    return [header] + [[_csv_cell(r[k]) for k in header] for r in rows]


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return value


def _emit(args, report, csv_rows):
    """Write the result as JSON or CSV to stdout or, atomically, to --output."""
    if args.format == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(csv_rows)
        text = buf.getvalue()
    else:
        text = _dumps(report)
    if args.output:
        _write_atomic(Path(args.output).expanduser(), lambda f: f.write(text))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _write_atomic(path, write, *, binary=False, opener=None):
    """Write through ``write(file)`` into a temporary file, then rename it to ``path``.

    The temporary file lives in the same directory (same file system, so the rename is
    atomic): readers see the old file or the complete new one, and a failure at any
    point (including Ctrl-C) removes the temporary file and leaves ``path`` untouched.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {_one_line(exc)}") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8",
                       newline=None if binary else "") as raw:
            if opener is not None:
                with opener(raw) as f:
                    write(f)
            else:
                write(raw)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CLIError(f"cannot write {path}: {_one_line(exc)}") from None
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_plot_target(name):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CLIError("--plot needs matplotlib, which is not installed (pip install "
                       "matplotlib, or fastsparse[plot])") from None
    ext = Path(name).suffix.lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if ext not in supported:
        raise _UsageError(f"--plot {name}: unknown image type {ext!r}; use one of "
                          f"{', '.join(sorted(supported))}")


def _save_plot(name, draw):
    """Draw on a pyplot-free Figure (no GUI backend, no global state) and save it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    draw(fig.add_subplot())
    path = Path(name).expanduser()
    fmt = path.suffix.lstrip(".").lower()
    _write_atomic(path, lambda f: fig.savefig(f, format=fmt), binary=True)
