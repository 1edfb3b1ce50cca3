"""The errors a user of the command line can cause, and their one-line messages.

:func:`fastsparse.cli.main` reports a :class:`CLIError` (exit code 1) or a
:class:`_UsageError` (exit code 2) as ONE line ``fastsparse: error: <message>`` on
stderr, without a traceback.
"""

PROG = "fastsparse"


class CLIError(Exception):
    """A problem the user can fix: reported as one line on stderr, exit code 1."""


class _UsageError(Exception):
    """A combination of options that argparse cannot check itself (exit code 2)."""


def _one_line(text):
    return " ".join(str(text).split())
