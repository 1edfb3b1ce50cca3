"""Covariance (Gram) CD vs plain CD on the working sets of a real regularization path.

Solves the rcv1-shaped path without intercept once (``lasso_path(X, y, n_alphas=100,
eps=1e-3, tol=1e-6, fit_intercept=False)``) while recording every call the solver makes
to ``fastsparse._kernels.inner_solve`` (working set, coefficients, residual, tolerance).
Then, in the same process, each recorded working-set problem from the chosen part of the
path is solved again from the identical state by

- ``inner``: ``_kernels.inner_solve`` (what the solver does today),
- ``gram cold``: a fresh Gram matrix of the working set plus ``gram_inner_solve``,
- ``gram warm``: the Gram matrix taken from a :class:`GramCache` that has already seen
  the previous recorded working set (how a path would cache it), plus the solve,

each to the same restricted-gap tolerance, best of ``--repeats`` runs. Only ratios are
printed as results (the machine is shared); absolute per-epoch costs are printed as well
for the selection rule, with that caveat.

Usage::

    python scripts/gram_cd_bench.py [--repeats 3] [--start 50] [--every 1]
"""

import argparse
import time

import numpy as np

from fastsparse import _kernels as K
from fastsparse._gram_cd import (GramCache, estimate_new_pairs, gram_build, gram_inner_solve,
                                 gram_is_cheaper, rows_of_columns)
from fastsparse.datasets import fetch_preset
from fastsparse.path import lasso_path


def record_path(X, y, n_alphas):
    """Run the path once, recording the arguments of every inner_solve call."""
    calls = []
    state = {"alpha_index": -1}
    real = K.inner_solve

    def spy(data, indices, indptr, ws, w, r_raw, shift, sw, weighted, fit_intercept,
            xbar, lipschitz, l1, l2, positive, y_c, free, xbar_free, gram_pinv, tol,
            max_epochs, anderson_k, dual_extrapolation, q_best, early_check=True):
        entry = dict(
            k=state["alpha_index"], ws=ws.copy(), w_ws=w[ws].copy(),
            nnz_w=int(np.count_nonzero(w)), r_raw=r_raw.copy(), shift=shift,
            xbar=xbar.copy(), lipschitz=lipschitz.copy(), l1=float(l1[0]),
            l2=float(l2[0]), positive=positive, free=free, tol=tol,
            max_epochs=max_epochs, anderson_k=anderson_k,
            dual_extrapolation=dual_extrapolation, early_check=early_check)
        t0 = time.perf_counter()
        out = real(data, indices, indptr, ws, w, r_raw, shift, sw, weighted, fit_intercept,
                   xbar, lipschitz, l1, l2, positive, y_c, free, xbar_free, gram_pinv, tol,
                   max_epochs, anderson_k, dual_extrapolation, q_best, early_check)
        entry["time_in_path"] = time.perf_counter() - t0
        entry["epochs_in_path"] = out[1]
        calls.append(entry)
        return out

    K.inner_solve = spy
    try:
        # lasso_path yields nothing per alpha; the spy learns the alpha from the l1 value.
        t0 = time.perf_counter()
        res = lasso_path(X, y, n_alphas=n_alphas, eps=1e-3, tol=1e-6,
                         fit_intercept=False)
        t_path = time.perf_counter() - t0
    finally:
        K.inner_solve = real
    alphas = np.asarray(res[0])
    n = X.shape[0]
    for c in calls:
        c["k"] = int(np.argmin(np.abs(alphas * n - c["l1"])))
    return calls, t_path


def _state(call, p):
    """Fresh copies of the mutable state of a recorded call."""
    w = np.zeros(p)
    w[call["ws"]] = call["w_ws"]
    return w, call["r_raw"].copy()


def _solve(kind, X_arrays, y_c, call, p, gram=None):
    data, indices, indptr = X_arrays
    w, r_raw = _state(call, p)
    n = r_raw.shape[0]
    l1 = np.broadcast_to(np.float64(call["l1"]), (p,))
    l2 = np.broadcast_to(np.float64(call["l2"]), (p,))
    args = (data, indices, indptr, call["ws"], w, r_raw, call["shift"], np.ones(1), False,
            False, call["xbar"], call["lipschitz"], l1, l2, call["positive"], y_c,
            call["free"], np.zeros(0), np.zeros((0, 0)), call["tol"], call["max_epochs"],
            call["anderson_k"], call["dual_extrapolation"], np.empty(n))
    if kind == "inner":
        out = K.inner_solve(*args, call["early_check"])
    else:
        out = gram_inner_solve(*args, gram, call["early_check"])
    return out, w


def _moved(call, w_after):
    """Columns of the working set that are non-zero before or after the solve."""
    return int(np.count_nonzero((call["w_ws"] != 0) | (w_after[call["ws"]] != 0)))


def bench(calls, selected, X, y_c, repeats, max_size):
    """Replay the recorded calls; returns one row of measurements per selected call.

    A :class:`GramCache` follows the whole recorded sequence (every call, in path
    order), as a path-level cache would; for a selected call its ``get`` is timed from
    a copy of the cache state before the call, so repeats do not see a warmer cache.
    """
    X_arrays = (X.data, X.indices, X.indptr)
    n, p = X.shape
    rows = []
    cache = GramCache(*X_arrays, n, np.ones(1), False, max_size=max_size)
    for idx, call in enumerate(calls):
        ws = call["ws"]
        if idx not in selected:
            cache.get(ws)
            continue
        m = ws.shape[0]
        t_inner = t_solve = t_build = t_get = np.inf
        saved = cache.state()
        missing = np.setdiff1d(ws, cache.cols)
        nnz_new = int(np.sum(np.diff(X.indptr)[missing]))
        for _ in range(repeats):
            t0 = time.perf_counter()
            out_i, w_i = _solve("inner", X_arrays, y_c, call, p)
            t_inner = min(t_inner, time.perf_counter() - t0)

            t0 = time.perf_counter()
            gram = gram_build(*X_arrays, ws, n, np.ones(1), False)
            t_build = min(t_build, time.perf_counter() - t0)

            t0 = time.perf_counter()
            out_g, w_g = _solve("gram", X_arrays, y_c, call, p, gram)
            t_solve = min(t_solve, time.perf_counter() - t0)

            cache.restore(saved)
            t0 = time.perf_counter()
            cache.get(ws)
            t_get = min(t_get, time.perf_counter() - t0)
        n_new = cache.n_built - saved[3]
        rptr, _, _ = rows_of_columns(*X_arrays, ws, n)
        row_nnz = np.diff(rptr).astype(np.float64)
        rows.append(dict(
            k=call["k"], m=m, nnz_w=call["nnz_w"], n_new=n_new, nnz_new=nnz_new,
            prev_epochs=calls[idx - 1]["epochs_in_path"] if idx else 6, moved=_moved(call, w_g),
            nnz_ws=int(np.sum(np.diff(X.indptr)[ws])),
            pairs=float(np.sum(row_nnz * (row_nnz + 1) / 2)),
            ep_inner=out_i[1], ep_gram=out_g[1], gap_inner=out_i[2], gap_gram=out_g[2],
            tol=call["tol"], t_inner=t_inner, t_solve=t_solve, t_build=t_build,
            t_get=t_get, w_diff=float(np.max(np.abs(w_i - w_g))) if m else 0.0))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--start", type=int, default=50,
                        help="first alpha index (of 100) whose working sets are replayed")
    parser.add_argument("--every", type=int, default=1,
                        help="replay every k-th recorded call only (faster)")
    parser.add_argument("--n-alphas", type=int, default=100)
    parser.add_argument("--max-size", type=int, default=4000,
                        help="GramCache capacity (columns)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.every < 1:
        parser.error("--repeats and --every must be >= 1")

    X, y, _ = fetch_preset("rcv1", "regression")
    print(f"rcv1 preset: {X.shape[0]} x {X.shape[1]}, nnz {X.nnz}")
    calls, t_path = record_path(X, y, args.n_alphas)
    t_inner_path = sum(c["time_in_path"] for c in calls)
    print(f"path: {len(calls)} inner solves, {t_inner_path / t_path:.0%} of the path time"
          " in inner_solve")
    by_decile = np.zeros(10)
    for c in calls:
        by_decile[min(c["k"] * 10 // args.n_alphas, 9)] += c["time_in_path"]
    print("share of inner_solve time per tenth of the path: "
          + " ".join(f"{x / t_inner_path:.0%}" for x in by_decile))
    idx = [i for i, c in enumerate(calls) if c["k"] >= args.start][::args.every]
    second = sum(c["time_in_path"] for c in calls if c["k"] >= args.start)
    print(f"alphas >= {args.start}: {second / t_path:.0%} of the path time in inner_solve")

    y_c = np.asarray(y, dtype=np.float64)
    # Warm-up (compilation), not timed.
    bench(calls[idx[0]:idx[0] + 1], {0}, X, y_c, 1, args.max_size)
    rows = bench(calls, set(idx), X, y_c, args.repeats, args.max_size)

    print("  k    m  nnz_w moved  new  nnz_ws   pairs/2  ep_i ep_g ok  "
          "i/(s+b) i/(s+get)  i/s  b/i  get/i  us/ep_i us/ep_s")
    for r in rows:
        ok = r["gap_inner"] <= r["tol"] and r["gap_gram"] <= r["tol"]
        print(f"{r['k']:3d} {r['m']:4d} {r['nnz_w']:6d} {r['moved']:5d} {r['n_new']:4d} "
              f"{r['nnz_ws']:7d} {r['pairs']:9.3g} {r['ep_inner']:5d} {r['ep_gram']:4d} "
              f"{'y' if ok else 'NO'}  "
              f"{r['t_inner'] / (r['t_solve'] + r['t_build']):7.2f} "
              f"{r['t_inner'] / (r['t_solve'] + r['t_get']):9.2f} "
              f"{r['t_inner'] / r['t_solve']:4.1f} {r['t_build'] / r['t_inner']:4.2f} "
              f"{r['t_get'] / r['t_inner']:5.2f} "
              f"{1e6 * r['t_inner'] / r['ep_inner']:8.0f} "
              f"{1e6 * r['t_solve'] / r['ep_gram']:7.0f}")
    tot = {key: sum(r[key] for r in rows)
           for key in ("t_inner", "t_solve", "t_build", "t_get")}
    print(f"total over {len(rows)} working-set solves (alphas >= {args.start}):")
    print(f"  inner / (gram solve + fresh build)  = "
          f"{tot['t_inner'] / (tot['t_solve'] + tot['t_build']):.2f}x")
    print(f"  inner / (gram solve + path cache)   = "
          f"{tot['t_inner'] / (tot['t_solve'] + tot['t_get']):.2f}x")
    print(f"  inner / gram solve (G for free)     = {tot['t_inner'] / tot['t_solve']:.2f}x")
    print(f"  fresh build / inner = {tot['t_build'] / tot['t_inner']:.2f}, "
          f"path-cache get / inner = {tot['t_get'] / tot['t_inner']:.2f}")
    # The selection rule, fed only what a solver knows before the solve (the previous
    # solve's epochs, the working set, the cache's missing columns).
    t_rule = 0.0
    n_gram = 0
    for r in rows:
        pick = gram_is_cheaper(r["m"], r["nnz_ws"], r["nnz_w"],
                               estimate_new_pairs(r["nnz_new"], r["nnz_ws"], X.shape[0]),
                               max(r["prev_epochs"], 1))
        n_gram += pick
        t_rule += (r["t_solve"] + r["t_get"]) if pick else r["t_inner"]
    best = sum(min(r["t_inner"], r["t_solve"] + r["t_get"]) for r in rows)
    print(f"  selection rule picks Gram for {n_gram}/{len(rows)} solves: inner / rule = "
          f"{tot['t_inner'] / t_rule:.2f}x (oracle per-solve choice: "
          f"{tot['t_inner'] / best:.2f}x)")
    print(f"max |w_inner - w_gram| = {max(r['w_diff'] for r in rows):.2e}")
    return rows


if __name__ == "__main__":
    main()
