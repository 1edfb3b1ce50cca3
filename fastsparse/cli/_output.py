"""A command's output: strict JSON and CSV on stdout or ``--output``, plots.

Files (``--output``, ``--plot``, ``generate``'s OUT) are written to a temporary file in
the same directory and renamed into place, so a failure never leaves a half-written
file.
"""

import contextlib
import csv
import io
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from ._errors import CLIError, _one_line, _UsageError


def _jsonable(obj):
    """Plain JSON types; NaN and infinities become None (strict JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def _dumps(report):
    return json.dumps(_jsonable(report), indent=2, allow_nan=False) + "\n"


def _features_csv(report):
    rows = report["selected"]
    classes = report.get("classes") or []
    multi = len(classes) > 2
    header = ["index", "name"] + ([f"coef_{c:g}" for c in classes] if multi else ["coef"])
    body = [[r["index"], r.get("name", "")]
            + ([repr(float(c)) for c in r["coef"]] if multi else [repr(float(r["coef"]))])
            for r in rows]
    return [header] + body


def _table_csv(rows):
    header = list(rows[0]) if rows else []
    return [header] + [[_csv_cell(r[k]) for k in header] for r in rows]


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return value


def _emit(args, report, csv_rows):
    """Write the result as JSON or CSV to stdout or, atomically, to --output."""
    if args.format == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(csv_rows)
        text = buf.getvalue()
    else:
        text = _dumps(report)
    if args.output:
        _write_atomic(Path(args.output).expanduser(), lambda f: f.write(text))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _write_atomic(path, write, *, binary=False, opener=None):
    """Write through ``write(file)`` into a temporary file, then rename it to ``path``.

    The temporary file lives in the same directory (same file system, so the rename is
    atomic): readers see the old file or the complete new one, and a failure at any
    point (including Ctrl-C) removes the temporary file and leaves ``path`` untouched.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {_one_line(exc)}") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8",
                       newline=None if binary else "") as raw:
            if opener is not None:
                with opener(raw) as f:
                    write(f)
            else:
                write(raw)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CLIError(f"cannot write {path}: {_one_line(exc)}") from None
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _compressed_opener(path):
    """gzip/bz2 writer for .gz/.bz2 names (load_svmlight reads them back), else None."""
    if path.suffix == ".gz":
        import gzip

        return lambda raw: gzip.GzipFile(fileobj=raw, mode="wb")
    if path.suffix == ".bz2":
        import bz2

        return lambda raw: bz2.BZ2File(raw, mode="wb")
    return None


def _check_plot_target(name):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CLIError("--plot needs matplotlib, which is not installed (pip install "
                       "matplotlib, or fastsparse[plot])") from None
    ext = Path(name).suffix.lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if ext not in supported:
        raise _UsageError(f"--plot {name}: unknown image type {ext!r}; use one of "
                          f"{', '.join(sorted(supported))}")


def _save_plot(name, draw):
    """Draw on a pyplot-free Figure (no GUI backend, no global state) and save it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    draw(fig.add_subplot())
    path = Path(name).expanduser()
    fmt = path.suffix.lstrip(".").lower()
    _write_atomic(path, lambda f: fig.savefig(f, format=fmt), binary=True)
