"""The ``fastsparse`` command line: fit, paths, cross-validation and feature selection.

Run ``fastsparse --help`` (or ``python -m fastsparse --help``) for the commands and a
worked example. Every command reads a data file (svmlight/libsvm text, a scipy.sparse
``.npz``, or a memory-mapped dataset directory written by :func:`fastsparse.io.save_csc`),
runs the library's public API on it and writes one JSON document (or CSV) to
stdout or to ``--output FILE``.

Conventions the tests rely on:

- stdout carries only the result. Progress bars (``-v``) and anything the library prints
  while it works go to stderr.
- A problem the user can cause (missing or unreadable file, shape mismatch, NaN/inf,
  bad parameter) ends the process with ONE line ``fastsparse: error: <message>`` on
  stderr and no traceback: exit code 2 for command-line usage errors (as argparse),
  1 for data errors. Ctrl-C exits with 130. Anything else is a bug and keeps its
  traceback.
- ``--output`` and ``--plot`` files are written to a temporary file in the same
  directory and renamed into place, so a failure never leaves a half-written file.
- JSON is strict (``NaN`` and infinities become ``null``).

The modules of this package, one job each:

- ``_errors``: the user-error exceptions and their one-line messages;
- ``_parser``: the argparse parser, its argument types and help texts, and the checks
  of the parsed options made before any data is read;
- ``_inputs``: loading and validating the data file, target and feature names;
- ``_run``: running a library call with its prints on stderr and its warnings kept;
- ``_report``: the parts of a command's report (selected features, relative gaps);
- ``_model_commands``: the ``fit``, ``path``, ``cv`` and ``select`` commands;
- ``_data_commands``: the ``generate`` and ``convert`` commands;
- ``_output``: JSON and CSV emission, atomic file writes and plots.

This module holds :func:`main`, the entry point of the ``fastsparse`` console script
and of ``python -m fastsparse COMMAND ...``.
"""

import contextlib
import os
import sys

from ._errors import PROG, CLIError, _one_line, _UsageError
from ._parser import _check_early, build_parser

__all__ = ["main", "build_parser"]


def main(argv=None):
    """Run the ``fastsparse`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 for a data error, 2 for a usage error, 130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if argv[:1] == ["demo"]:
        # The demo parses its own options (argparse.REMAINDER cannot pass "--preset").
        from ..demo import main as demo_main

        return demo_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        _check_early(args)
        return args.func(args)
    except _UsageError as exc:
        print(f"{PROG}: error: {_one_line(exc)} (see '{PROG} {args.command} --help')",
              file=sys.stderr)
        return 2
    except CLIError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `fastsparse ... | head`: the reader left; nothing more to say. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
