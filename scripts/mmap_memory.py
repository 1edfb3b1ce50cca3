"""Peak memory of a Lasso fit on a memory-mapped matrix vs the same matrix in RAM.

Generates (or reads from the dataset cache) the finance-shaped regression preset
(16,087 x 4,272,227, 20M stored entries), writes it once with
:func:`fastsparse.io.save_csc` into DIR, then fits ``Lasso(alpha=alpha_max / 10)`` in a
fresh process per mode and reports peak resident memory, its anonymous / file-backed
split, fit time and duality gap:

- ``ram``: ``load_csc(DIR, mmap=False)``, every array read into anonymous memory;
- ``mmap``: ``load_csc(DIR)``, the arrays memory-mapped; the fit as it is today.
  Pages of the file that the fit reads count in the RSS until unmapped or evicted, and
  a full pass (validation, column norms, X^T r for the duality gap) reads every page;
- ``mmap-blocked``: a prototype of what the solver could do for memory-mapped input.
  Every pass over many columns (validation, column norms, X^T r, the residual, the
  working-set statistics) runs over column blocks of ``--block-nnz`` entries and calls
  :func:`fastsparse.io.release_pages` on each block when it is done (the pages leave the
  RSS but stay in the page cache), and the inner solver works on a compact in-memory
  copy of the working-set columns. The script does this by patching, in the child
  process only, ``check_csc`` in ``fastsparse.linear_model``, ``column_sqnorms_f32`` /
  ``xt_dot_full`` in ``fastsparse._solver`` and ``residual`` / ``column_stats`` /
  ``inner_solve`` in ``fastsparse._kernels``. No library file is changed.

Each child imports fastsparse and runs a tiny warm-up fit (Numba cache loading) before
measuring; "baseline" is its RSS then, and the peak is measured from there (VmHWM reset
through /proc/self/clear_refs; a sampling thread records RssAnon / RssFile every 5 ms).

Usage::

    python scripts/mmap_memory.py [DIR] [--modes ram,mmap,mmap-blocked] [--cold]

DIR defaults to /tmp/fastsparse_finance_csc. ``--cold`` evicts the dataset's files from
the page cache (posix_fadvise DONTNEED on those files only) before each child.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

DEFAULT_DIR = "/tmp/fastsparse_finance_csc"
MODES = ("ram", "mmap", "mmap-blocked")


# --------------------------------------------------------------------------------------
# Memory accounting (Linux /proc)
# --------------------------------------------------------------------------------------


def status_kb():
    """RSS fields of /proc/self/status in kB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(line.split()[1])
    return out


def reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0). Returns False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """Samples RssAnon/RssFile; the Numba kernels release the GIL, so it runs meanwhile."""

    def __init__(self, interval=0.005):
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.max_anon = self.max_file = self.max_total = 0
        self.at_max = (0, 0)

    def run(self):
        while not self.stop.is_set():
            s = status_kb()
            anon, file = s["RssAnon"], s["RssFile"] + s.get("RssShmem", 0)
            self.max_anon = max(self.max_anon, anon)
            self.max_file = max(self.max_file, file)
            if anon + file > self.max_total:
                self.max_total, self.at_max = anon + file, (anon, file)
            time.sleep(self.interval)


def evict(directory):
    """Drop the dataset's files from the page cache (clean pages of these files only)."""
    for name in os.listdir(directory):
        fd = os.open(os.path.join(directory, name), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------------------
# Prototype: full passes over column blocks, releasing each block
# --------------------------------------------------------------------------------------


def install_blocked_passes(block_nnz):
    """Patch how the least-squares solver reads X (this process only).

    For memory-mapped X: full passes over column blocks, each block's pages released
    when done; the working set gathered block by block into a compact in-memory copy
    for the inner solver (its columns are scattered over the file, and every page
    touched maps a whole page-cache folio, up to 2 MB, into the RSS).
    """
    import fastsparse._kernels as K
    import fastsparse._solver as solver
    import fastsparse.linear_model as lm
    from fastsparse._validation import check_csc
    from fastsparse.io import _backing_mmap, column_blocks, release_pages

    orig_sqnorms, orig_xt_dot = solver.column_sqnorms_f32, solver.xt_dot_full
    orig_residual, orig_inner, orig_stats = K.residual, K.inner_solve, K.column_stats

    def mapped(arr):
        return _backing_mmap(arr) is not None

    def blocked_check_csc(X, **kwargs):
        # What check_csc checks on a canonical CSC matrix, one column block at a time:
        # non-decreasing indptr, finite values, row indices in range, sorted and unique
        # within each column. O(block) temporaries instead of O(nnz) resident pages.
        import scipy.sparse as sp

        if not (sp.issparse(X) and X.format == "csc" and mapped(X.data)):
            return check_csc(X, **kwargs)
        n, p = X.shape
        data, indices, indptr = X.data, X.indices, X.indptr
        if indptr[0] != 0 or indptr[-1] != data.shape[0] or indices.shape != data.shape:
            return check_csc(X, **kwargs)
        canonical = True
        for j0, j1 in column_blocks(indptr, None, block_nnz):
            ptr = indptr[j0:j1 + 1]
            if np.any(ptr[1:] < ptr[:-1]):
                raise ValueError("X is malformed: indptr is not non-decreasing.")
            lo, hi = int(ptr[0]), int(ptr[-1])
            if hi > lo:
                if not np.all(np.isfinite(data[lo:hi])):
                    raise ValueError("Input X contains NaN or infinity.")
                idx = indices[lo:hi]
                if idx.min() < 0 or idx.max() >= n:
                    raise ValueError("X is malformed: row index out of range.")
                step = np.diff(idx)
                starts = ptr[1:-1] - lo  # first entry of each later column of the block
                starts = starts[(starts > 0) & (starts < hi - lo)]
                step[starts - 1] = 1  # a new column may start anywhere
                canonical &= bool(np.all(step > 0))
            release_pages(X, (j0, j1))
        release_pages(X)  # indptr too
        if not canonical:
            return check_csc(X, **kwargs)  # copies: the prototype does not block that
        X.has_canonical_format = True
        return X

    def release_cols(data, indices, indptr, cols, a, b):
        release_pages((data, indices, indptr), (int(cols[a]), int(cols[b - 1]) + 1))

    def blocked_sqnorms(data, indices, indptr, n_rows, sw, weighted, fit_intercept):
        if not mapped(data):
            return orig_sqnorms(data, indices, indptr, n_rows, sw, weighted, fit_intercept)
        out = np.empty(indptr.shape[0] - 1, dtype=np.float32)
        for j0, j1 in column_blocks(indptr, None, block_nnz):
            # A slice of indptr keeps absolute offsets into data: the columns j0..j1-1.
            out[j0:j1] = orig_sqnorms(data, indices, indptr[j0:j1 + 1], n_rows, sw,
                                      weighted, fit_intercept)
            release_pages((data, indices, indptr), (j0, j1))
        return out

    def blocked_xt_dot(data, indices, indptr, cols, v, out):
        if not mapped(data):
            return orig_xt_dot(data, indices, indptr, cols, v, out)
        for a, b in column_blocks(indptr, cols, block_nnz):
            orig_xt_dot(data, indices, indptr, cols[a:b], v, out[a:b])
            release_cols(data, indices, indptr, cols, a, b)
        return None

    def blocked_stats(data, indices, indptr, cols, n_rows, sw, weighted, fit_intercept):
        if not mapped(data) or cols.shape[0] == 0:
            return orig_stats(data, indices, indptr, cols, n_rows, sw, weighted,
                              fit_intercept)
        xbar, sqnorm = np.zeros(cols.shape[0]), np.zeros(cols.shape[0])
        for a, b in column_blocks(indptr, cols, block_nnz):
            xbar[a:b], sqnorm[a:b] = orig_stats(data, indices, indptr, cols[a:b], n_rows,
                                                sw, weighted, fit_intercept)
            release_cols(data, indices, indptr, cols, a, b)
        return xbar, sqnorm

    def blocked_residual(data, indices, indptr, y_c, w, sw, weighted, fit_intercept,
                         r_raw):
        if not mapped(data):
            return orig_residual(data, indices, indptr, y_c, w, sw, weighted,
                                 fit_intercept, r_raw)
        # Same sums in the same order as the kernel, block by block (each call starts
        # from the residual left by the previous block).
        shift, start = 0.0, y_c
        for j0, j1 in column_blocks(indptr, None, block_nnz):
            if not np.any(w[j0:j1]):
                continue
            shift += orig_residual(data, indices, indptr[j0:j1 + 1], start, w[j0:j1],
                                   sw, weighted, fit_intercept, r_raw)
            start = r_raw.copy()
            release_pages((data, indices, indptr), (j0, j1))
        if start is y_c:
            r_raw[:] = y_c
        return shift

    def gather(data, indices, indptr, ws):
        """ws's columns as compact in-memory CSC arrays, read block by block."""
        lens = indptr[ws + 1] - indptr[ws]
        cptr = np.zeros(ws.shape[0] + 1, dtype=indptr.dtype)
        np.cumsum(lens, out=cptr[1:])
        cdata = np.empty(int(cptr[-1]), dtype=data.dtype)
        cind = np.empty(int(cptr[-1]), dtype=indices.dtype)
        for a, b in column_blocks(indptr, ws, block_nnz):
            for k in range(a, b):
                lo, hi = int(indptr[ws[k]]), int(indptr[ws[k] + 1])
                cdata[cptr[k]:cptr[k + 1]] = data[lo:hi]
                cind[cptr[k]:cptr[k + 1]] = indices[lo:hi]
            release_cols(data, indices, indptr, ws, a, b)
        return cdata, cind, cptr

    def compact_inner_solve(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                            fit_intercept, xbar, lipschitz, l1, l2, positive, y_c, free,
                            *rest):
        if not mapped(data) or free.shape[0]:
            return orig_inner(data, indices, indptr, ws, w, r_raw, shift, sw, weighted,
                              fit_intercept, xbar, lipschitz, l1, l2, positive, y_c, free,
                              *rest)
        cdata, cind, cptr = gather(data, indices, indptr, ws)
        local = np.arange(ws.shape[0], dtype=ws.dtype)
        w_ws = w[ws]
        out = orig_inner(cdata, cind, cptr, local, w_ws, r_raw, shift, sw, weighted,
                         fit_intercept, xbar, lipschitz, np.ascontiguousarray(l1[ws]),
                         np.ascontiguousarray(l2[ws]), positive, y_c, free, *rest)
        w[ws] = w_ws
        return out

    lm.check_csc = blocked_check_csc
    solver.column_sqnorms_f32 = blocked_sqnorms
    solver.xt_dot_full = blocked_xt_dot
    K.column_stats = blocked_stats
    K.residual = blocked_residual
    K.inner_solve = compact_inner_solve


# --------------------------------------------------------------------------------------
# Child: one measured fit
# --------------------------------------------------------------------------------------


def child(mode, directory, alpha, tol, block_nnz, coef_out):
    import scipy.sparse as sp

    import fastsparse
    from fastsparse.io import load_csc, release_pages, save_csc

    # Warm-up with the same dtypes (float64 values, int32 indices): loads the Numba
    # cache, so that neither compilation nor its memory is measured.
    rng = np.random.default_rng(0)
    Xw = sp.random(200, 500, density=0.05, format="csc", random_state=rng)
    yw = rng.standard_normal(200)
    fastsparse.Lasso(alpha=1e-3).fit(Xw, yw)
    if mode == "mmap-blocked":
        install_blocked_passes(block_nnz)
        # Warm up the patched path too (its compact working set is another signature).
        with tempfile.TemporaryDirectory() as tmp:
            save_csc(Path(tmp) / "w", Xw)
            Xm, _ = load_csc(Path(tmp) / "w")
            fastsparse.Lasso(alpha=1e-3).fit(Xm, yw)
            del Xm
    base = status_kb()
    hwm_reset = reset_peak()
    sampler = Sampler()
    sampler.start()
    t0 = time.perf_counter()
    X, y = load_csc(directory, mmap=(mode != "ram"), validate=(mode != "mmap-blocked"))
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fastsparse.Lasso(alpha=alpha, tol=tol).fit(X, y)
    t_fit = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    end = status_kb()
    after_release = None
    if mode != "ram":
        release_pages(X)
        after_release = status_kb()["VmRSS"]
    np.save(coef_out, model.coef_)
    return {
        "mode": mode,
        "baseline_rss_kb": base["VmRSS"],
        "peak_rss_kb": end["VmHWM"],
        "hwm_reset": hwm_reset,
        "max_anon_kb": sampler.max_anon,
        "max_file_kb": sampler.max_file,
        "split_at_peak_kb": sampler.at_max,
        "rss_after_fit_kb": end["VmRSS"],
        "rss_after_release_kb": after_release,
        "load_s": t_load,
        "fit_s": t_fit,
        "dual_gap": float(model.dual_gap_),
        "n_iter": int(model.n_iter_),
        "nnz_coef": int(np.count_nonzero(model.coef_)),
        "intercept": float(model.intercept_),
    }


# --------------------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------------------


def prepare(directory, preset):
    """Write the preset with save_csc once; returns the size on disk in bytes."""
    from fastsparse.io import save_csc

    directory = Path(directory)
    if not (directory / "meta.json").exists():
        from fastsparse.datasets import fetch_preset

        t0 = time.perf_counter()
        X, y, _ = fetch_preset(preset, "regression")
        save_csc(directory, X, y)
        print(f"wrote {directory} in {time.perf_counter() - t0:.1f} s")
        del X, y
    return sum(f.stat().st_size for f in directory.iterdir())


def validation_costs(directory, cold):
    """Time of load_csc (with/without validate) and check_csc on the memory map."""
    from fastsparse._validation import check_csc
    from fastsparse.io import load_csc

    out = {}
    for validate in (False, True):
        if cold:
            evict(directory)
        t0 = time.perf_counter()
        X, _ = load_csc(directory, validate=validate)
        out[f"load_csc(validate={validate})"] = time.perf_counter() - t0
        del X
    if cold:
        evict(directory)
    X, _ = load_csc(directory, validate=False)
    t0 = time.perf_counter()
    check_csc(X)
    out["check_csc on the map"] = time.perf_counter() - t0
    return out


def alpha_max(directory):
    from fastsparse import alpha_grid
    from fastsparse.io import load_csc

    X, y = load_csc(directory)
    return float(alpha_grid(X, y, n_alphas=1)[0])


def mb(kb):
    return f"{kb / 1024:.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--preset", default="finance",
                        help="dataset preset written into DIR if it does not exist yet "
                             "(default finance; e.g. medium for a quick check)")
    parser.add_argument("--ratio", type=float, default=10.0,
                        help="alpha = alpha_max / RATIO (default 10)")
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--block-nnz", type=int, default=1 << 20,
                        help="entries per column block in mmap-blocked (default 2**20)")
    parser.add_argument("--cold", action="store_true",
                        help="evict the dataset files from the page cache before each run")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "ALPHA", "COEF_OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, alpha, coef_out = args.child
        res = child(mode, args.directory, float(alpha), args.tol, args.block_nnz, coef_out)
        print(json.dumps(res))
        return 0

    directory = Path(args.directory)
    size = prepare(directory, args.preset)
    alpha = alpha_max(directory) / args.ratio
    costs = validation_costs(directory, args.cold)
    print(f"data set: {directory} ({size / 2**20:.0f} MiB on disk), "
          f"alpha = alpha_max / {args.ratio:g} = {alpha:.6g}, tol = {args.tol:g}")
    for k, v in costs.items():
        print(f"  {k}: {v:.2f} s ({'cold' if args.cold else 'warm'} page cache)")
    rows, coefs = [], {}
    for mode in args.modes.split(","):
        if args.cold:
            evict(directory)
        coef_out = directory.parent / f".{directory.name}.coef-{mode}.npy"
        cmd = [sys.executable, __file__, str(directory), "--tol", str(args.tol),
               "--block-nnz", str(args.block_nnz), "--child", mode, repr(alpha),
               str(coef_out)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            raise SystemExit(f"child {mode} failed")
        res = json.loads(out.stdout.strip().splitlines()[-1])
        coefs[mode] = np.load(coef_out)
        os.unlink(coef_out)
        rows.append(res)
    half = size / 2 / 1024
    print()
    print("| mode | peak RSS MiB | baseline MiB | peak - baseline MiB | "
          "anon / file at peak MiB | max anon / max file MiB | "
          "after fit / after release_pages MiB | load s | fit s | gap | nnz(coef) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        anon, file = r["split_at_peak_kb"]
        rel = "-" if r["rss_after_release_kb"] is None else mb(r["rss_after_release_kb"])
        print(f"| {r['mode']} | {mb(r['peak_rss_kb'])} | {mb(r['baseline_rss_kb'])} | "
              f"{mb(r['peak_rss_kb'] - r['baseline_rss_kb'])} | {mb(anon)} / {mb(file)} | "
              f"{mb(r['max_anon_kb'])} / {mb(r['max_file_kb'])} | "
              f"{mb(r['rss_after_fit_kb'])} / {rel} | {r['load_s']:.2f} | "
              f"{r['fit_s']:.2f} | {r['dual_gap']:.2e} | {r['nnz_coef']} |")
    print()
    print(f"half the size on disk: {half / 1024:.0f} MiB")
    for r in rows:
        extra = r["peak_rss_kb"] - r["baseline_rss_kb"]
        print(f"{r['mode']}: peak RSS {'<' if r['peak_rss_kb'] < half else '>='} half the "
              f"size on disk; peak - baseline {'<' if extra < half else '>='} half")
    ref = coefs.get("ram")
    if ref is not None:
        for mode, c in coefs.items():
            print(f"max |coef({mode}) - coef(ram)| = {np.max(np.abs(c - ref)):.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
