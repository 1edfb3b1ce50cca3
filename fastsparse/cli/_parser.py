"""The ``fastsparse`` argument parser: subcommands, argument types, help texts.

:func:`build_parser` builds the parser whose ``parse_args`` sets ``args.func`` to the
command's handler; :func:`_check_early` checks what argparse cannot (combinations of
options, output directories, input paths) before any data is read.
"""

import argparse
import math
from pathlib import Path

from ._data_commands import _cmd_convert, _cmd_generate
from ._errors import PROG, CLIError, _one_line, _UsageError
from ._model_commands import _cmd_cv, _cmd_fit, _cmd_path, _cmd_select
from ._output import _check_plot_target

# Help texts (argparse epilogs, shown verbatim by RawDescriptionHelpFormatter)

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

_CONVERT_EPILOG = """\
example:
  fastsparse generate data.svm
  fastsparse convert data.svm data.csc     # memory-mappable directory (fastsparse.io)
  fastsparse select data.csc --n-features 10
"""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line (plus a pointer to --help)."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")


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


def build_parser():
    """Build the argparse parser of the ``fastsparse`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        Parser with one subcommand per action (``generate``, ``convert``, ``fit``,
        ``path``, ``cv``, ``select``, ``demo``); ``parse_args`` sets ``args.func`` to its
        handler.
    """
    from .. import __version__

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

    from ..io import _CONVERT_DESCRIPTION, _CONVERT_HELP, add_convert_arguments

    p = sub.add_parser("convert", help=_CONVERT_HELP, description=_CONVERT_DESCRIPTION,
                       epilog=_CONVERT_EPILOG, formatter_class=fmt)
    add_convert_arguments(p)
    p.set_defaults(func=_cmd_convert)

    # Listed for --help only: main() hands "demo ..." to fastsparse.demo before parsing.
    sub.add_parser("demo", help="run the built-in demo (`python -m fastsparse`; "
                                "`fastsparse demo --help` for its options)")
    return parser


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
