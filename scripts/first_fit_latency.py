"""Measure the latency a user sees: import fastsparse + first fit, in a fresh process.

Usage::

    python scripts/first_fit_latency.py [--repeat 5]

Runs a fresh interpreter once with an empty Numba cache (compilation included) and then
``--repeat`` times with that cache warm, each importing fastsparse and fitting a Lasso on a
small sparse problem (200 x 500). Prints the cold time and the median warm time, split into
import and first fit. Numba's cache goes to a temporary directory (NUMBA_CACHE_DIR), so the
measurement neither uses nor disturbs the package's own cache.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import scipy.sparse as sp
from fastsparse import Lasso
t1 = time.perf_counter()
X = sp.random(200, 500, density=0.05, format="csc", random_state=0)
y = np.arange(200.0)
Lasso(alpha=0.1).fit(X, y)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "fit": t2 - t1}))
"""


def run_child(cache_dir):
    """One fresh interpreter; returns its import and first-fit times in seconds."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="warm runs (default: 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        cold = run_child(cache)
        warm = [run_child(cache) for _ in range(args.repeat)]
    total = [w["import"] + w["fit"] for w in warm]
    print(f"cold cache: import {cold['import']:.2f} s + first fit {cold['fit']:.2f} s "
          f"= {cold['import'] + cold['fit']:.2f} s")
    print(f"warm cache (median of {args.repeat}): import "
          f"{statistics.median(w['import'] for w in warm):.2f} s + first fit "
          f"{statistics.median(w['fit'] for w in warm):.2f} s = "
          f"{statistics.median(total):.2f} s (min {min(total):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
