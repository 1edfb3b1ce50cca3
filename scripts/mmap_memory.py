"""Peak memory of a Lasso or logistic fit on a memory-mapped matrix vs the same in RAM.

Generates (or reads from the dataset cache) the finance-shaped regression preset
(16,087 x 4,272,227, 20M stored entries), writes it once with
:func:`fastsparse.io.save_csc` into DIR, then fits ``Lasso(alpha=alpha_max / 10)``
(``--model lasso``, default) or ``LogisticRegression(C=10 C_min)`` (``--model
logistic``, C_min from :func:`fastsparse.logistic_c_min`; labels ``y > median(y)``,
which is how :func:`fastsparse.datasets.make_sparse_data` makes its classification
task from the same noisy predictor) in a fresh process per mode and reports peak
resident memory, its anonymous / file-backed split, fit time and duality gap:

- ``ram``: ``load_csc(DIR, mmap=False)``, every array read into anonymous memory;
- ``mmap``: ``load_csc(DIR)``, the arrays memory-mapped, fitted by the
  library as it is: for a memory-mapped X every pass over many columns (validation,
  column norms, X^T r, the residual, the working-set statistics) runs over column
  blocks of ``--block-nnz`` entries and releases each block's pages when it is done
  (:mod:`fastsparse._mmap_passes`; the pages leave the RSS but stay in the page
  cache), and the inner solver works on a compact in-memory copy of the working set;
- ``mmap-unblocked``: the same map with the blocked passes switched off (the library
  treats the map as ordinary memory, as it did before they were integrated): every
  page a pass reads stays in the RSS.

Each child imports fastsparse and runs a warm-up fit (Numba cache loading, and Numba's
thread pool: the warm-up is large enough for the multi-threaded passes) before
measuring; "baseline" is its RSS then, and the peak is measured from there (VmHWM reset
through /proc/self/clear_refs; a sampling thread records RssAnon / RssFile every 5 ms).

Usage::

    python scripts/mmap_memory.py [DIR] [--modes ram,mmap,mmap-unblocked] [--cold]
                                  [--model lasso|logistic] [--ratio R]

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
MODES = ("ram", "mmap", "mmap-unblocked")


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
# The library as it was before the blocked passes (for comparison)
# --------------------------------------------------------------------------------------


def disable_blocked_passes():
    """Make the library treat the map as ordinary memory (this process only).

    ``fastsparse._mmap_passes.is_mapped`` decides whether a pass runs over column
    blocks releasing pages; answering False everywhere gives the plain passes that
    in-memory data uses, i.e. the fit on a memory map as it was before the blocked
    passes were integrated.
    """
    import fastsparse._mmap_passes as MP
    import fastsparse._validation as V

    MP.is_mapped = V.is_mapped = lambda arr: False


def warm_parallel_passes(X):
    """Run the multi-threaded column passes once on X's array types (Numba cache)."""
    import fastsparse._sparse_ops as S

    n, p = X.shape
    cols = np.arange(p, dtype=np.int32 if p < 2**31 - 1 else np.int64)
    out = np.empty(p)
    S.xt_dot_parallel(X.data, X.indices, X.indptr, cols, np.ones(n), out, 4)
    S.column_sqnorms_f32_parallel(X.data, X.indices, X.indptr, n, np.ones(1), False, True,
                                  4)


# --------------------------------------------------------------------------------------
# Child: one measured fit
# --------------------------------------------------------------------------------------


def _labels(y):
    """Binary labels of the logistic fits: the target above its median."""
    return (y > np.median(y)).astype(np.int64)


def _make_model(model, alpha, tol):
    """The measured estimator: ``alpha`` is Lasso's alpha or LogisticRegression's C."""
    import fastsparse

    if model == "logistic":
        return fastsparse.LogisticRegression(C=alpha, tol=tol)
    return fastsparse.Lasso(alpha=alpha, tol=tol)


def child(mode, directory, alpha, tol, block_nnz, coef_out, model="lasso"):
    import scipy.sparse as sp

    import fastsparse
    from fastsparse.io import load_csc, release_pages, save_csc

    # Warm-up with the same dtypes (float64 values, int32 indices): loads the Numba
    # cache, so that neither compilation nor its memory is measured. 400k entries, more
    # than MIN_PARALLEL_NNZ: the multi-threaded passes and Numba's thread pool are
    # loaded here too, as in any process that has fitted before; NUMBA_NUM_THREADS=1
    # measures without them.
    rng = np.random.default_rng(0)
    Xw = sp.random(2000, 20_000, density=0.01, format="csc", random_state=rng)
    yw = rng.standard_normal(2000)
    fastsparse.Lasso(alpha=1e-3).fit(Xw, yw)
    if model == "logistic":
        fastsparse.LogisticRegression(C=1.0).fit(Xw, _labels(yw))
    if mode == "mmap-unblocked":
        disable_blocked_passes()
    else:
        import fastsparse._mmap_passes as MP

        MP.BLOCK_NNZ = block_nnz
    if mode != "ram":
        # Warm up the mapped path too (its compact working set is another signature).
        with tempfile.TemporaryDirectory() as tmp:
            save_csc(Path(tmp) / "w", Xw)
            Xm, _ = load_csc(Path(tmp) / "w")
            fastsparse.Lasso(alpha=1e-3).fit(Xm, yw)
            if model == "logistic":
                fastsparse.LogisticRegression(C=1.0).fit(Xm, _labels(yw))
            # The fits' chooser may not have tried both pass variants on the read-only
            # map: load the multi-threaded ones for these array types too.
            warm_parallel_passes(Xm)
            release_pages(Xm)
            del Xm
    base = status_kb()
    hwm_reset = reset_peak()
    sampler = Sampler()
    sampler.start()
    t0 = time.perf_counter()
    X, y = load_csc(directory, mmap=(mode != "ram"))
    if model == "logistic":
        y = _labels(y)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    est = _make_model(model, alpha, tol).fit(X, y)
    t_fit = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    end = status_kb()
    after_release = None
    if mode != "ram":
        release_pages(X)
        after_release = status_kb()["VmRSS"]
    np.save(coef_out, np.ravel(est.coef_))
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
        "dual_gap": float(np.ravel(est.dual_gap_)[0]),
        "n_iter": int(np.ravel(est.n_iter_)[0]),
        "nnz_coef": int(np.count_nonzero(est.coef_)),
        "intercept": float(np.ravel(est.intercept_)[0]),
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


def c_min(directory):
    """Smallest C of LogisticRegression with a non-zero coefficient (on the labels)."""
    from fastsparse import logistic_c_min
    from fastsparse.io import load_csc

    X, y = load_csc(directory)
    return float(logistic_c_min(X, _labels(y)))


def mb(kb):
    return f"{kb / 1024:.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--preset", default="finance",
                        help="dataset preset written into DIR if it does not exist yet "
                             "(default finance; e.g. medium for a quick check)")
    parser.add_argument("--model", choices=("lasso", "logistic"), default="lasso",
                        help="Lasso on the regression target (default) or L1 "
                             "LogisticRegression on labels y > median(y)")
    parser.add_argument("--ratio", type=float, default=10.0,
                        help="alpha = alpha_max / RATIO (Lasso) or C = RATIO * C_min "
                             "(logistic); default 10")
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--block-nnz", type=int, default=1 << 20,
                        help="fastsparse._mmap_passes.BLOCK_NNZ in mode mmap (default "
                             "2**20)")
    parser.add_argument("--cold", action="store_true",
                        help="evict the dataset files from the page cache before each run")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "ALPHA", "COEF_OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, alpha, coef_out = args.child
        res = child(mode, args.directory, float(alpha), args.tol, args.block_nnz, coef_out,
                    args.model)
        print(json.dumps(res))
        return 0

    directory = Path(args.directory)
    size = prepare(directory, args.preset)
    if args.model == "logistic":
        alpha = c_min(directory) * args.ratio
        what = f"LogisticRegression, C = C_min * {args.ratio:g} = {alpha:.6g}"
    else:
        alpha = alpha_max(directory) / args.ratio
        what = f"Lasso, alpha = alpha_max / {args.ratio:g} = {alpha:.6g}"
    costs = validation_costs(directory, args.cold)
    print(f"data set: {directory} ({size / 2**20:.0f} MiB on disk), {what}, "
          f"tol = {args.tol:g}")
    for k, v in costs.items():
        print(f"  {k}: {v:.2f} s ({'cold' if args.cold else 'warm'} page cache)")
    rows, coefs = [], {}
    for mode in args.modes.split(","):
        if args.cold:
            evict(directory)
        coef_out = directory.parent / f".{directory.name}.coef-{mode}.npy"
        cmd = [sys.executable, __file__, str(directory), "--tol", str(args.tol),
               "--block-nnz", str(args.block_nnz), "--model", args.model,
               "--child", mode, repr(alpha),
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
