"""Ctrl-C during a long fit stops it promptly (the outer loop runs in Python)."""

import signal
import subprocess
import sys
import time

import pytest

CHILD = r"""
import sys, numpy as np
from fastsparse import Lasso
from fastsparse.datasets import make_sparse_data
X, y, _ = make_sparse_data(3000, 30000, nnz=300000, noise=1.0, random_state=0)
Lasso(alpha=1e-3).fit(X[:, :100], y)  # compile first: interrupt the fit, not Numba
print("ready", flush=True)
# tol=0 can never be certified: without an interrupt this runs max_iter outer iterations.
try:
    Lasso(alpha=1e-6, tol=0.0, max_iter=100000).fit(X, y)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_long_fit_quickly():
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # let the fit get going
        assert proc.poll() is None, "the fit ended before it could be interrupted"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, (out, err)
    assert "interrupted" in out
    assert elapsed < 10, elapsed  # generous for a loaded CI machine; ~0.1 s when idle
