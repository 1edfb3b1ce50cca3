"""Ctrl-C during long fits: stop promptly, leave no half-fitted estimator behind.

The pieces:

- :class:`Cancellation`, a flag that solver loops poll between outer iterations (a few
  milliseconds to a second apart on large problems). Worker threads cannot receive
  signals, so this is how a Ctrl-C reaches the folds of a cross-validation or the
  classes of a one-vs-rest fit running in joblib threads: without it joblib waits for
  every running task to finish its whole path before the interrupt surfaces.
- :func:`cancel_on_sigint`, a context manager for the main thread that installs a SIGINT
  handler which first sets the flag and then raises ``KeyboardInterrupt`` as usual.
- :func:`deferred_sigint`, a context manager for the main thread under which a SIGINT
  only sets the flag, turned into ``KeyboardInterrupt`` by the next poll, and
  :func:`path_interrupt`, the paths' ``on_interrupt`` policy built on it (their
  ``on_interrupt="return"`` must see a KeyboardInterrupt, never the SystemError an
  interrupt inside a Numba dispatch can become).
- :func:`restore_on_interrupt`, a decorator for ``fit`` methods: if the fit is
  interrupted (or fails), the estimator's attributes are restored to what they were
  before the call, so an interrupted first fit leaves it unfitted and an interrupted
  refit leaves the previous model intact; and a Ctrl-C that Numba's dispatcher turned
  into a ``SystemError`` is raised as the ``KeyboardInterrupt`` it was.
"""

import functools
import signal
import threading
import time
import warnings
from contextlib import contextmanager

__all__ = ["Cancellation", "cancel_on_sigint", "deferred_sigint", "path_interrupt",
           "restore_on_interrupt", "wrapped_interrupt"]


class Cancellation:
    """A cancellation flag shared by the threads of one parallel fit.

    Pickling gives a fresh, never-set flag: tasks sent to other processes (loky, Dask)
    cannot be cancelled this way; there joblib's own interrupt handling applies.
    """

    def __init__(self):
        self._event = threading.Event()
        # Set once a poll has turned the flag into KeyboardInterrupt (deferred_sigint).
        self.delivered = False

    def cancel(self):
        """Ask every loop polling this flag to stop."""
        self._event.set()

    @property
    def cancelled(self):
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self):
        """Raise ``KeyboardInterrupt`` if the flag is set (call between iterations)."""
        if self._event.is_set():
            self.delivered = True
            raise KeyboardInterrupt("fit cancelled")

    def __reduce__(self):
        return (Cancellation, ())


def check_cancelled(cancel):
    """:meth:`Cancellation.check` that accepts None (no cancellation requested)."""
    if cancel is not None:
        cancel.check()


@contextmanager
def deferred_sigint(raise_late=True):
    """Yield a :class:`Cancellation` that Ctrl-C sets, instead of raising at once.

    Python's default SIGINT handler raises ``KeyboardInterrupt`` in whatever the main
    thread runs at that moment. Raised while Numba's dispatcher prepares a compiled
    call, it surfaced as "SystemError: CPUDispatcher(<function column_stats>) returned
    a result with an exception set" instead (a path interrupted in a CI run), which no
    ``except KeyboardInterrupt`` catches. In this block a Ctrl-C only sets the flag; the
    solver loops poll it between outer iterations (:func:`check_cancelled`) and raise
    ``KeyboardInterrupt`` there, in Python code. A compiled call cannot be interrupted
    either way, so the delay is the same. If the block ends without a poll having seen
    the flag, ``KeyboardInterrupt`` is raised at its end when ``raise_late``.

    Only when the default handler is installed, in the main thread; otherwise the
    handler is left alone and the flag is set only by :meth:`Cancellation.cancel`.
    """
    token = Cancellation()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield token
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: token.cancel())
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)
    if raise_late and token.cancelled and not token.delivered:
        raise KeyboardInterrupt


class _PathRun:
    """What :func:`path_interrupt` yields: the flag to poll, and whether the path was
    cut short."""

    __slots__ = ("token", "interrupted")

    def __init__(self, token):
        self.token = token
        self.interrupted = False


@contextmanager
def path_interrupt(on_interrupt, finished):
    """The ``on_interrupt`` policy of the path functions, around their loop over the grid.

    Ctrl-C is deferred (:func:`deferred_sigint`): the solvers poll ``run.token`` and
    raise ``KeyboardInterrupt`` between outer iterations. With ``on_interrupt="raise"``
    it propagates; with ``"return"`` it is absorbed, ``run.interrupted`` is set and a
    ``UserWarning`` says how much was kept: ``finished()`` (called then) describes it,
    e.g. "12 of 100 alphas".
    """
    with deferred_sigint(raise_late=on_interrupt == "raise") as token:
        run = _PathRun(token)
        try:
            yield run
        except KeyboardInterrupt:
            if on_interrupt == "raise":
                raise
            run.interrupted = True
            # stacklevel 4: this generator, contextlib's __exit__, the path function,
            # its caller.
            warnings.warn(f"Path interrupted: returning the {finished()} finished before "
                          "the interrupt.", UserWarning, stacklevel=4)


@contextmanager
def cancel_on_sigint():
    """Yield a :class:`Cancellation` that a SIGINT (Ctrl-C) sets before interrupting.

    In the main thread the previous SIGINT handler is wrapped for the duration of the
    block: on Ctrl-C the flag is set first (so worker threads polling it stop within one
    outer iteration) and then the previous handler runs (by default it raises
    ``KeyboardInterrupt`` in the main thread). Elsewhere, or when SIGINT is ignored or
    handled outside Python, the flag is never set by a signal but can still be set by
    :meth:`Cancellation.cancel`.
    """
    token = Cancellation()
    if threading.current_thread() is not threading.main_thread():
        yield token
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN, SIG_DFL or a handler not installed from Python
        yield token
        return

    def handler(signum, frame):
        token.cancel()
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    before = set(threading.enumerate())
    try:
        yield token
    except BaseException:
        # Whatever ends the block early (an interrupt, an error in one task) should
        # also stop the tasks still running.
        token.cancel()
        _wait_for_workers(before)
        raise
    finally:
        signal.signal(signal.SIGINT, previous)


#: Longest wait, in seconds, for the worker threads of an interrupted fit to stop.
WORKER_STOP_TIMEOUT = 5.0


def _wait_for_workers(before):
    """Join the daemon threads started since ``before`` (a set of threads), for at most
    :data:`WORKER_STOP_TIMEOUT` seconds in all.

    When the interrupt reaches the main thread, joblib's worker threads are still
    finishing their current outer iteration (they stop at the next poll of the flag,
    within about 0.5 s on the test problems). A script that exits at once would finalize
    the interpreter under them: a worker leaving compiled code then cannot take the GIL
    back and is unwound by force through C++ frames, which aborted the process
    ("terminate called without an active exception", exit code -6) in one CI run.
    """
    deadline = time.monotonic() + WORKER_STOP_TIMEOUT
    me = threading.current_thread()
    for thread in threading.enumerate():
        if thread in before or thread is me or not thread.daemon:
            continue
        thread.join(max(deadline - time.monotonic(), 0.0))


def wrapped_interrupt(exc):
    """The ``KeyboardInterrupt`` behind ``exc``, or None.

    A Ctrl-C whose handler runs while Numba's dispatcher prepares a compiled call
    surfaces as ``SystemError: CPUDispatcher(...) returned a result with an exception
    set``, with the ``KeyboardInterrupt`` as its cause (see :func:`deferred_sigint`).
    Only that chain of SystemErrors is unwrapped; any other exception gives None.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        if not isinstance(exc, SystemError):
            return None
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def restore_on_interrupt(fit):
    """Decorate a ``fit`` method so that an exception leaves the estimator as it was.

    scikit-learn decides "fitted" by the presence of attributes ending in ``_``, and
    ``validate_data`` sets ``n_features_in_`` before any solving starts: without this an
    interrupted first fit would look fitted. A Ctrl-C that reached the fit as a
    ``SystemError`` from a Numba dispatch (:func:`wrapped_interrupt`) is re-raised as
    ``KeyboardInterrupt``, so that ``except KeyboardInterrupt`` in the caller's code
    sees it. (The path functions avoid the SystemError altogether by deferring the
    signal to the solvers' polls, :func:`path_interrupt`.)
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException as exc:
            vars(self).clear()
            vars(self).update(before)
            if not isinstance(exc, KeyboardInterrupt) and wrapped_interrupt(exc):
                raise KeyboardInterrupt(
                    "fit interrupted (Ctrl-C during a compiled call)") from exc
            raise

    return wrapper
