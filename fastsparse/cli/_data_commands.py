"""The data commands ``generate`` (a synthetic svmlight file) and ``convert``
(svmlight to a memory-mappable CSC directory); each prints a JSON summary."""

import sys
import time
from pathlib import Path

import numpy as np

from ._errors import CLIError, _one_line, _UsageError
from ._output import _compressed_opener, _dumps, _write_atomic


def _cmd_generate(args):
    from sklearn.datasets import dump_svmlight_file

    from ..datasets import make_sparse_data

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


def _cmd_convert(args):
    from ..io import convert_svmlight

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
