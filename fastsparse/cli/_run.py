"""Running the library for a command: stdout to stderr, warnings collected."""

import contextlib
import sys
import time
import warnings

from ._errors import CLIError, _one_line


class _Run:
    """Context for a computation: the library's prints go to stderr, warnings are kept.

    The solvers print progress lines with ``print`` when tqdm is missing or ``verbose``
    is high: redirecting stdout keeps the command's stdout a clean JSON/CSV document.
    Warnings (e.g. ConvergenceWarning) are reported once each as ``fastsparse: warning:``
    lines and listed in the output. ValueErrors of the library calls made through
    :meth:`call` are user errors (DESIGN.md: every validation failure is a ValueError
    naming the problem); a ValueError anywhere else in the command line is a bug and
    keeps its traceback.
    """

    def __enter__(self):
        self._redirect = contextlib.redirect_stdout(sys.stderr)
        self._redirect.__enter__()
        self._warn = warnings.catch_warnings(record=True)
        self.caught = self._warn.__enter__()
        warnings.simplefilter("always")
        # Deprecations are for developers, not for someone running a command.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, kind, exc, tb):
        self.seconds = time.perf_counter() - self.t0
        self._warn.__exit__(kind, exc, tb)
        self._redirect.__exit__(kind, exc, tb)
        return False

    @staticmethod
    def call(fn, *args, **kwargs):
        """Call the library; its ValueErrors (input checks) become user errors."""
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            raise CLIError(_one_line(exc)) from None

    def messages(self):
        seen = []
        for w in self.caught:
            text = f"{w.category.__name__}: {_one_line(w.message)}"
            if text not in seen:
                seen.append(text)
        return seen

    def converged(self):
        from sklearn.exceptions import ConvergenceWarning

        return not any(issubclass(w.category, ConvergenceWarning) for w in self.caught)
