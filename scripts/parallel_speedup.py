"""Speed-up of the multi-threaded passes over every column, 1 thread versus N.

Usage::

    python scripts/parallel_speedup.py [--preset news20] [--threads 2] [--repeat 20]

For one preset (generated and cached by :func:`fastsparse.datasets.fetch_preset`), times

- the full X^T v pass (``xt_dot_parallel`` over every column, the pass behind the
  duality gap, screening and working-set scores), with Numba set to 1 thread and then to
  N threads (same compiled function, so only the thread count differs), median of
  ``--repeat`` calls each;
- the column-norm pass (``column_sqnorms_f32_parallel``), the same way;
- a whole Lasso fit at alpha_max / 100 (``--alpha-ratio``) with 1 and N threads, median
  of 3, and checks that both fits return bit-identical coefficients.

The two settings alternate inside each repetition so that load from other processes hits
both alike. Speed-ups are ratios measured side by side in one run; absolute times on a
shared machine are noise.
"""

import argparse
import statistics
import time

import numba
import numpy as np

from fastsparse import Lasso, alpha_grid
from fastsparse import _sparse_ops as S
from fastsparse.datasets import fetch_preset


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _compare(label, fn, threads, repeat):
    """Median time of fn at 1 thread and at ``threads``, interleaved; prints the ratio."""
    t1, tn = [], []
    for _ in range(repeat):
        numba.set_num_threads(1)
        t1.append(_median_time(fn, 1))
        numba.set_num_threads(threads)
        tn.append(_median_time(fn, 1))
    a, b = statistics.median(t1), statistics.median(tn)
    print(f"{label:<28} 1 thread {a * 1e3:9.2f} ms   {threads} threads {b * 1e3:9.2f} ms   "
          f"speed-up {a / b:5.2f}x")
    return a / b


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="news20")
    parser.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--alpha-ratio", type=float, default=100.0)
    parser.add_argument("--no-fit", action="store_true", help="time the passes only")
    args = parser.parse_args(argv)
    if args.threads < 2 or args.threads > numba.config.NUMBA_NUM_THREADS:
        parser.error(f"--threads must be in [2, {numba.config.NUMBA_NUM_THREADS}]")

    X, y, _ = fetch_preset(args.preset, "regression")
    n, p = X.shape
    print(f"{args.preset}: {n:,} x {p:,}, {X.nnz:,} non-zeros; numba threading layer "
          f"after first call below")
    v = np.random.default_rng(0).standard_normal(n)
    cols = np.arange(p, dtype=X.indices.dtype)
    out = np.empty(p)
    blocks = 4 * args.threads
    sw = np.ones(n)

    def xt():
        S.xt_dot_parallel(X.data, X.indices, X.indptr, cols, v, out, blocks)

    def norms():
        S.column_sqnorms_f32_parallel(X.data, X.indices, X.indptr, n, sw, False, True,
                                      blocks)

    xt()
    norms()  # compile / load from cache
    print(f"threading layer: {numba.threading_layer()}")
    _compare("X^T v, every column", xt, args.threads, args.repeat)
    _compare("column norms, every column", norms, args.threads, args.repeat)
    serial = np.empty(p)
    S.xt_dot(X.data, X.indices, X.indptr, cols, v, serial)
    print(f"{'serial kernel (xt_dot)':<28} {_median_time(lambda: S.xt_dot(X.data, X.indices, X.indptr, cols, v, serial), args.repeat) * 1e3:9.2f} ms; "
          f"bit-identical to parallel: {np.array_equal(serial, out)}")

    if not args.no_fit:
        alpha = float(alpha_grid(X, y, n_alphas=1)[0]) / args.alpha_ratio
        coefs = {}

        def fit(k):
            numba.set_num_threads(k)
            t = time.perf_counter()
            coefs[k] = Lasso(alpha=alpha, tol=1e-6).fit(X, y).coef_
            return time.perf_counter() - t

        fit(args.threads)  # warm-up
        t1, tn = [], []
        for _ in range(3):
            t1.append(fit(1))
            tn.append(fit(args.threads))
        a, b = statistics.median(t1), statistics.median(tn)
        print(f"{'Lasso fit alpha_max/' + format(args.alpha_ratio, 'g'):<28} 1 thread "
              f"{a:9.3f} s    {args.threads} threads {b:9.3f} s    speed-up {a / b:5.2f}x; "
              f"identical coefficients: {np.array_equal(coefs[1], coefs[args.threads])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
