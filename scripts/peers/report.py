"""Report."""

import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

from .problems import matrix_nbytes


def _git_revision():
    """Short commit of the checkout this script lives in, with a dirty marker."""
    root = Path(__file__).resolve().parents[2]  # scripts/peers/report.py -> checkout
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (rev + ("-dirty" if dirty else "")) or None


def _cpu_model():
    """CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_info():
    """Machine, CPU count and package versions, as a JSON-serialisable dict."""
    versions = {}
    for package in ("fastsparse", "numpy", "scipy", "scikit-learn", "numba", "skglm",
                    "celer"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return dict(platform=platform.platform(), cpu=_cpu_model(), cpu_count=os.cpu_count(),
                usable_cpus=usable, python=platform.python_version(), versions=versions,
                fastsparse_git=_git_revision())


def format_machine(info):
    """One Markdown paragraph describing the machine."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v is not None)
    git = f" (git {info['fastsparse_git']})" if info["fastsparse_git"] else ""
    return (f"Machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} logical CPUs "
            f"({info['usable_cpus']} usable), Python {info['python']}.  \n"
            f"Packages: {versions}{git}.")


def _fmt_mib(value):
    return "-" if value is None else f"{value:.1f}"


def ladder_cells(res, fs_seconds, timeout, time_digits):
    """How one solver's ladder ended, as table cells.

    Returns (shown, time, ratio to fastsparse, tol used): ``shown`` is the chosen rung,
    or the closest one when none reached the gap (None without any rung); the time has
    ``time_digits`` decimals.
    """
    chosen = res["chosen"]
    shown = chosen or (min(res["points"], key=lambda p: p["rel_gap"]) if res["points"]
                       else None)
    if chosen is not None:
        time_cell = f"{chosen['seconds']:.{time_digits}f}"
        ratio = f"{chosen['seconds'] / fs_seconds:.2f}" if fs_seconds else "-"
        tol_cell = f"{chosen['tol']:.0e}"
    elif res["status"] == "timeout":
        time_cell, ratio = f"> {timeout:g}", "-"
        tol_cell = f"{res['timeout_tol']:.0e} timed out"
    elif res["status"] == "error":
        time_cell, ratio, tol_cell = "error", "-", res.get("error", "")[:60]
    else:
        time_cell, ratio, tol_cell = "not reached", "-", "ladder exhausted"
    return shown, time_cell, ratio, tol_cell


def _solver_row(name, res, fs_seconds, x_mib, timeout, bold):
    """Cells of one table row."""
    chosen = res["chosen"]
    shown, time_cell, ratio, tol_cell = ladder_cells(res, fs_seconds, timeout, 3)
    memory = res["memory"] or chosen
    peak = memory["peak_extra_mib"] if memory else None
    cells = [
        name, time_cell, ratio,
        f"{shown['primal']:.10g}" if shown else "-",
        f"{shown['rel_gap']:.1e}" if shown else "-",
        str(shown["nnz"]) if shown else "-",
        _fmt_mib(peak),
        f"{peak / x_mib:.2f}" if peak is not None and x_mib > 0 else "-",
        tol_cell,
    ]
    if bold:
        cells[0], cells[1] = f"**{cells[0]}**", f"**{cells[1]}**"
    return cells


def fastest_peer(results):
    """Name of the fastest solver other than fastsparse that reached the gap, or None."""
    peers = {name: res["chosen"]["seconds"] for name, res in results.items()
             if name != "fastsparse" and res["chosen"] is not None}
    return min(peers, key=peers.get) if peers else None


def format_table(results, x_mib, timeout):
    """Markdown table of one alpha, followed by the speed-up line.

    Parameters
    ----------
    results : dict
        Solver name -> summary from :func:`compare_solver`.
    x_mib : float
        Size of X in MiB (data + indices + indptr).
    timeout : float
        The per-fit timeout, shown for timed-out solvers.

    Returns
    -------
    text : str
        The table and the summary lines.
    """
    header = ["solver", "time (s)", "ratio to fastsparse", "objective", "rel gap (script)",
              "nnz", "peak extra memory (MiB)", "peak / size of X", "tol used"]
    fs = results.get("fastsparse")
    fs_seconds = fs["chosen"]["seconds"] if fs and fs["chosen"] else None
    best = fastest_peer(results)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, res in results.items():
        cells = _solver_row(name, res, fs_seconds, x_mib, timeout, bold=name == best)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += speedup_lines(results, best, fs_seconds)
    return "\n".join(lines)


def speedup_lines(results, best, fs_seconds, gap="gap", subject="fastsparse"):
    """The lines under a results table: the speed-up of ``subject`` over the fastest
    peer ``best`` (or why there is none), then fastsparse's first-fit costs.

    ``gap`` names the accuracy required ("gap", or "worst gap" for paths).
    """
    fs = results.get("fastsparse")
    if fs is None:
        return ["fastsparse was not run: no speed-up to report."]
    if fs_seconds is None:
        line = f"fastsparse did not reach the requested {gap}: no speed-up to report."
    elif best is None:
        line = f"No peer reached the requested {gap}: no speed-up to report."
    else:
        speedup = results[best]["chosen"]["seconds"] / fs_seconds
        line = (f"Speed-up of {subject} over the fastest peer ({best}): "
                f"**{speedup:.2f}x**" + (" (fastsparse is slower)" if speedup < 1 else ""))
    return [line, _compile_line(fs)]


def format_rounds(results):
    """Markdown table of the per-round times of :func:`compare_solvers`, or "".

    One row per round: every solver's time at its chosen rung and the ratio of the
    fastest peer's time in that round to fastsparse's, then the median, smallest and
    largest ratio over the rounds.
    """
    fs = results.get("fastsparse")
    if fs is None or len(fs.get("round_seconds", [])) < 2:
        return ""
    names = list(results)
    header = ["round"] + [f"{name} (s)" for name in names] + ["fastest peer / fastsparse"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ratios = []
    for r, fs_seconds in enumerate(fs["round_seconds"]):
        times = [results[name]["round_seconds"][r] for name in names]
        peers = [t for name, t in zip(names, times) if name != "fastsparse" and t]
        ratio = min(peers) / fs_seconds if peers and fs_seconds else None
        if ratio is not None:
            ratios.append(ratio)
        cells = [str(r + 1)] + [f"{t:.3f}" if t is not None else "-" for t in times]
        cells.append(f"{ratio:.2f}x" if ratio is not None else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if ratios:
        lines.append(f"Ratio of the fastest peer to fastsparse over {len(ratios)} rounds: "
                     f"median **{np.median(ratios):.2f}x**, smallest {min(ratios):.2f}x, "
                     f"largest {max(ratios):.2f}x.")
    else:
        lines.append("No round with both fastsparse and a peer at the requested gap.")
    return "\n".join(lines)


def print_entry(title, results, x_mib, timeout):
    """Print one alpha's (or C's) section: its title, :func:`format_table` and, with
    ``--rounds``, :func:`format_rounds`."""
    print(f"### {title}\n")
    print(format_table(results, x_mib, timeout) + "\n", flush=True)
    rounds = format_rounds(results)
    if rounds:
        print(rounds + "\n", flush=True)


def _compile_line(fs):
    """fastsparse's first-fit costs, which the timed fits exclude."""
    cold = "empty Numba cache" if fs["cold_compile"] else "Numba cache as found"
    parts = []
    if fs["warmup_seconds"] is not None:
        parts.append(f"{fs['warmup_seconds']:.2f} s ({cold})")
    if fs["memory_warmup_seconds"] is not None:
        parts.append(f"{fs['memory_warmup_seconds']:.2f} s (on-disk Numba cache)")
    if not parts:
        return "fastsparse first fit: not measured."
    return ("fastsparse load + import + JIT + first fit on a small slice, excluded from "
            "the times above: " + "; ".join(parts) + ".")


def plot_curves(all_results, rel_gap, path):
    """Suboptimality versus time, one panel per alpha and one curve per solver.

    The suboptimality of a rung is ``(P - D_best) / P`` with ``D_best`` the best dual value
    any solver reached at that alpha: a certified upper bound on ``(P - P*) / P``, and
    positive, so it fits a log scale. Each rung is a separate run, so timing noise can
    make a looser rung slower than a tighter one: the markers show every run and the line
    the best suboptimality reached by any run of at most that duration.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(all_results), figsize=(5.5 * len(all_results), 4.2),
                             squeeze=False)
    for ax, entry in zip(axes[0], all_results):
        points = [p for res in entry["solvers"].values() for p in res["points"]]
        if not points:
            continue
        best_dual = max(p["dual"] for p in points)
        for name, res in entry["solvers"].items():
            if not res["points"]:
                continue
            ordered = sorted(res["points"], key=lambda p: p["seconds"])
            t = np.array([p["seconds"] for p in ordered])
            sub = np.array([max((p["primal"] - best_dual) / p["primal"], 1e-16)
                            for p in ordered])
            line, = ax.step(t, np.minimum.accumulate(sub), where="post", label=name)
            ax.plot(t, sub, "o", color=line.get_color(), alpha=0.6)
        ax.axhline(rel_gap, color="grey", linestyle=":", label="requested rel gap")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("fit time (s)")
        ax.set_ylabel("(P - D_best) / P")
        ax.set_title(f"alpha = alpha_max / {entry['alpha_ratio']:g}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _describe_problem(args, X, y):
    """Dataset facts for the report."""
    return dict(preset=args.preset, target=args.target, n_samples=X.shape[0],
                n_features=X.shape[1], nnz=int(X.nnz), dtype=str(X.dtype),
                index_dtype=str(X.indices.dtype), x_bytes=matrix_nbytes(X),
                model=args.model, l1_ratio=args.l1_ratio if args.model == "enet" else 1.0,
                fit_intercept=args.fit_intercept, rel_gap=args.rel_gap)


def print_header(problem, model_text, labels=None):
    """Print the machine line and the data line of a report; returns (info, MiB of X).

    ``problem`` is :func:`_describe_problem`'s dict; ``labels`` names the target in the
    data line (default: "<target> target"); ``model_text`` ends it (model, grid,
    accuracy required).
    """
    info = machine_info()
    print(format_machine(info) + "\n")
    x_mib = problem["x_bytes"] / 2**20
    labels = f"{problem['target']} target" if labels is None else labels
    print(f"Data: preset {problem['preset']} ({labels}), "
          f"{problem['n_samples']} x {problem['n_features']}, nnz {problem['nnz']}, "
          f"{problem['dtype']}/{problem['index_dtype']}, X = {x_mib:.1f} MiB. "
          f"{model_text}\n", flush=True)
    return info, x_mib


def write_outputs(report, args, plot=None):
    """The ``--plot`` and ``--json`` outputs of a report.

    ``plot(path)`` draws the mode's figure (None: the mode has none, ``--plot`` is
    ignored); the JSON is ``report`` itself.
    """
    if args.plot and plot is not None:
        plot(args.plot)
        print(f"Plot written to {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")
