"""Ctrl-C during a long fit stops it promptly (the outer loop runs in Python)."""

import os
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
# and the passes over all of X (parallel above a size: compiled by the first one)
Lasso(alpha=10.0).fit(X, y)
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


# --- Ctrl-C in paths and cross-validation, and what an interrupted fit leaves behind ---

import pickle
import threading
import warnings

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import fastsparse
from fastsparse import _interrupt
from fastsparse import linear_model as lm
from fastsparse import logistic as logistic_mod

from conftest import make_regression_problem

CV_CHILD = r"""
import sys, time, numpy as np
from fastsparse import LassoCV, LogisticRegressionCV, lasso_path
from fastsparse.datasets import make_sparse_data
X, y, _ = make_sparse_data(2000, 20000, nnz=200000, noise=1.0, random_state=0)
kind = sys.argv[1]
small = X[:, :200]
# compile first: interrupt the fit, not Numba
LassoCV(cv=2, n_alphas=3, n_jobs=2).fit(small, y)
LogisticRegressionCV(Cs=2, cv=2, n_jobs=2).fit(small, y > np.median(y))
lasso_path(small, y, n_alphas=3)
print("ready", flush=True)
t = time.monotonic()
try:
    if kind == "cv":
        # tol=0 is never certified: each fold's path would run for many minutes.
        LassoCV(cv=4, n_jobs=2, tol=0.0, max_iter=100000).fit(X, y)
    elif kind == "stability":
        from fastsparse import StabilitySelection
        StabilitySelection(n_bootstrap=50, n_jobs=2, tol=0.0, max_iter=100000,
                           eps=1e-3).fit(X, y)
    elif kind == "logistic_cv":
        LogisticRegressionCV(Cs=20, cv=4, n_jobs=2, tol=0.0, max_iter=100000).fit(
            X, y > np.median(y))
    elif kind == "logistic_path":
        from fastsparse import logistic_path
        res = logistic_path(X, y > np.median(y), n_Cs=100, eps=1e-4, tol=0.0,
                            max_iter=20, on_interrupt="return")
        print("returned", len(res.Cs), res.interrupted,
              bool(np.all(np.isfinite(res.dual_gaps))), flush=True)
        sys.exit(4)
    else:
        res = lasso_path(X, y, tol=0.0, max_iter=20, on_interrupt="return")
        print("returned", len(res.alphas), res.interrupted,
              bool(np.all(np.isfinite(res.dual_gaps))), flush=True)
        sys.exit(4)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
print("finished", time.monotonic() - t, flush=True)
"""


def _interrupt_child(kind, wait=2.0):
    proc = subprocess.Popen([sys.executable, "-c", CV_CHILD, kind], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(wait)
        assert proc.poll() is None, "the fit ended before it could be interrupted"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("kind", ["cv", "logistic_cv", "stability"])
def test_ctrl_c_stops_parallel_cross_validation_quickly(kind):
    # The folds run in joblib worker threads, which never see the signal: without the
    # cancellation flag joblib waits for every running fold to finish its whole path.
    code, out, err, elapsed = _interrupt_child(kind)
    assert code == 3, (out, err)
    assert "interrupted" in out
    assert elapsed < 10, elapsed  # generous for a loaded CI machine; ~0.1 s when idle


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("kind", ["path", "logistic_path"])
def test_ctrl_c_returns_the_finished_part_of_a_path(kind):
    # A real SIGINT: it used to surface as a SystemError when it landed inside a Numba
    # dispatch; the paths now only set a flag that the solvers poll (deferred_sigint).
    code, out, err, elapsed = _interrupt_child(kind, wait=3.0)
    assert code == 4, (out, err)
    _, n_done, interrupted, finite = out.split()[-4:]
    assert interrupted == "True" and finite == "True"
    assert 0 < int(n_done) < 100
    assert "Path interrupted" in err  # the warning
    assert elapsed < 10, elapsed


def _raise_interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_interrupted_first_fit_leaves_the_estimator_unfitted(monkeypatch):
    X, y = make_regression_problem()
    monkeypatch.setattr(lm, "solve_enet", _raise_interrupt)
    model = fastsparse.Lasso(alpha=0.1)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    assert not hasattr(model, "n_features_in_")


def test_interrupted_refit_keeps_the_previous_model(monkeypatch):
    X, y = make_regression_problem()
    model = fastsparse.Lasso(alpha=0.1).fit(X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v)
              for k, v in vars(model).items()}
    monkeypatch.setattr(lm, "solve_enet", _raise_interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(alpha=0.01).fit(X[:, :10], y)  # other shape too
    assert set(vars(model)) == set(before)
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(getattr(model, k), v)
        elif k != "alpha":
            assert getattr(model, k) == v
    assert model.n_features_in_ == X.shape[1]


def _interrupt_inside_dispatch(*args, **kwargs):
    # What CPython raises when a SIGINT handler fires while a C function (Numba's
    # dispatcher) returns a result: a SystemError caused by the KeyboardInterrupt.
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        raise SystemError("CPUDispatcher(<function cd_epoch>) returned a result with "
                          "an exception set") from exc


def test_ctrl_c_inside_a_numba_dispatch_surfaces_as_keyboard_interrupt(monkeypatch):
    X, y = make_regression_problem()
    monkeypatch.setattr(lm, "solve_enet", _interrupt_inside_dispatch)
    model = fastsparse.Lasso(alpha=0.1)
    with pytest.raises(KeyboardInterrupt) as info:
        model.fit(X, y)
    assert isinstance(info.value.__cause__, SystemError)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_other_system_errors_are_not_turned_into_interrupts(monkeypatch):
    def broken(*args, **kwargs):
        raise SystemError("something else")

    X, y = make_regression_problem()
    monkeypatch.setattr(lm, "solve_enet", broken)
    with pytest.raises(SystemError, match="something else"):
        fastsparse.Lasso(alpha=0.1).fit(X, y)
    assert _interrupt.wrapped_interrupt(ValueError("x")) is None


def test_interrupted_logistic_fit_is_unfitted(monkeypatch):
    X, y = make_regression_problem()
    monkeypatch.setattr(logistic_mod, "solve_logistic", _raise_interrupt)
    clf = fastsparse.LogisticRegression()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y > np.median(y))
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


@pytest.mark.parametrize("path_fn", ["lasso", "logistic"])
def test_path_on_interrupt_return_and_raise(path_fn):
    X, y = make_regression_problem(n_samples=50, n_features=40, seed=3)
    if path_fn == "lasso":
        def run(**kw):
            return fastsparse.lasso_path(X, y, n_alphas=10, coef_format="dense", **kw)
    else:
        y = y > np.median(y)

        def run(**kw):
            return fastsparse.logistic_path(X, y, n_Cs=10, coef_format="dense", **kw)

    full = run()

    def interrupt_at_4(progress):
        if progress.index == 3:
            raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        part = run(callback=interrupt_at_4, on_interrupt="return")
    assert part.interrupted and not full.interrupted
    coefs = part.coefs
    assert coefs.shape == (X.shape[1], 4) and len(part.dual_gaps) == 4
    # The finished alphas are exactly those of the uninterrupted path.
    np.testing.assert_array_equal(coefs, full.coefs[:, :4])
    with pytest.raises(KeyboardInterrupt):
        run(callback=interrupt_at_4)
    with pytest.raises(ValueError, match="on_interrupt"):
        run(on_interrupt="ignore")


def test_logistic_path_callback_can_stop():
    X, y = make_regression_problem(n_samples=50, n_features=40, seed=4)
    seen = []

    def cb(progress):
        seen.append(progress)
        return progress.index == 1

    res = fastsparse.logistic_path(X, y > np.median(y), n_Cs=6, callback=cb)
    assert len(res.Cs) == 2 and res.coefs.shape[1] == 2 and not res.interrupted
    np.testing.assert_allclose([p.alpha for p in seen], res.Cs)
    np.testing.assert_allclose([p.dual_gap for p in seen], res.dual_gaps)


def test_cancellation_token():
    token = _interrupt.Cancellation()
    assert not token.cancelled
    token.check()
    _interrupt.check_cancelled(None)
    token.cancel()
    with pytest.raises(KeyboardInterrupt):
        token.check()
    with pytest.raises(KeyboardInterrupt):
        _interrupt.check_cancelled(token)
    # Another process cannot see this flag: a pickled copy starts clear.
    assert not pickle.loads(pickle.dumps(token)).cancelled


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_cancel_on_sigint_sets_the_flag_then_raises_and_restores_the_handler():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with _interrupt.cancel_on_sigint() as token:
            signal.raise_signal(signal.SIGINT)
            time.sleep(1)  # the handler runs before this returns
    assert token.cancelled
    assert signal.getsignal(signal.SIGINT) is before
    # An error in the block also cancels the tasks still running.
    with pytest.raises(RuntimeError):
        with _interrupt.cancel_on_sigint() as token2:
            raise RuntimeError
    assert token2.cancelled
    # Outside the main thread: no handler is installed, the flag still works.
    tokens = []

    def worker():
        with _interrupt.cancel_on_sigint() as t:
            tokens.append(t)

    th = threading.Thread(target=worker)
    th.start()
    th.join()
    assert not tokens[0].cancelled
    assert signal.getsignal(signal.SIGINT) is before


def test_interrupt_waits_for_the_workers_of_the_block(monkeypatch):
    # The interrupt leaves the block only once the daemon (worker) threads started in it
    # have stopped: an interpreter exiting under them aborted the process once.
    monkeypatch.setattr(_interrupt, "WORKER_STOP_TIMEOUT", 30.0)
    stop = threading.Event()
    unrelated = threading.Thread(target=stop.wait, daemon=True)
    unrelated.start()  # started before the block: not waited for
    workers = []
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with _interrupt.cancel_on_sigint() as token:
            for _ in range(2):
                # A worker polls the flag, then finishes its current iteration (0.3 s).
                th = threading.Thread(
                    target=lambda: (token._event.wait(), time.sleep(0.3)), daemon=True)
                th.start()
                workers.append(th)
            raise KeyboardInterrupt
    assert not any(th.is_alive() for th in workers)
    assert 0.25 < time.monotonic() - start < 20
    assert unrelated.is_alive()
    stop.set()
    # A worker that does not stop is waited for WORKER_STOP_TIMEOUT seconds, no longer.
    monkeypatch.setattr(_interrupt, "WORKER_STOP_TIMEOUT", 0.2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with _interrupt.cancel_on_sigint():
            stuck = threading.Thread(target=stop.wait, args=(60,), daemon=True)
            stop.clear()
            stuck.start()
            raise KeyboardInterrupt
    assert time.monotonic() - start < 5
    stop.set()


def test_solver_polls_the_cancellation_flag():
    X, y = make_regression_problem()
    token = _interrupt.Cancellation()
    token.cancel()
    pb = fastsparse._solver.prepare_problem(X, y, None, True)
    with pytest.raises(KeyboardInterrupt):
        fastsparse._solver.solve_enet(X, pb, 0.01, 1.0, None, cancel=token)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastsparse._solver.solve_enet(X, pb, 0.01, 1.0, None,
                                      cancel=_interrupt.Cancellation())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_deferred_sigint_turns_ctrl_c_into_a_flag_polled_later():
    from fastsparse._interrupt import check_cancelled, deferred_sigint

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # A poll raises KeyboardInterrupt; the block does not raise a second one at its end.
    with pytest.raises(KeyboardInterrupt):
        with deferred_sigint() as token:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler has run: no exception, only the flag
            assert token.cancelled
            check_cancelled(token)
    assert token.delivered
    # No poll saw it: raised when the block ends (raise_late), or not at all.
    with pytest.raises(KeyboardInterrupt):
        with deferred_sigint() as token:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    with deferred_sigint(raise_late=False) as token:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert token.cancelled and not token.delivered
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
