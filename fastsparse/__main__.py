"""``python -m fastsparse``: the built-in demo without arguments, else the command line.

``python -m fastsparse`` (no arguments) runs :mod:`fastsparse.demo`, the README's first
command; ``python -m fastsparse fit data.svm ...`` and every other command go to
:func:`fastsparse.cli.main`, the same entry point as the ``fastsparse`` console script.
The demo's own options (``--preset``, ``--ratio``) still reach the demo, so earlier
invocations such as ``python -m fastsparse --preset small`` keep working.
"""

import sys

_DEMO_OPTIONS = ("--preset", "--ratio")


def main(argv=None):
    """Dispatch to the demo or to the command line; returns the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        The exit code of the demo or of :func:`fastsparse.cli.main`.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].split("=", 1)[0] in _DEMO_OPTIONS:
        from .demo import main as demo_main

        return demo_main(argv)
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
