"""Parent: drive the workers with a timeout."""

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .worker import _EVENT_PREFIX

#: Bound on loading + warm-up of a worker (compiling skglm takes several seconds).
_STARTUP_TIMEOUT = 600.0

#: The script the workers run (its ``--worker`` option dispatches on ``spec["mode"]``).
COMMAND_LINE = Path(__file__).resolve().parent.parent / "compare_peers.py"


def _read_events(stream, events):
    """Reader thread: forward parsed events, then None at end of stream."""
    for line in stream:
        if line.startswith(_EVENT_PREFIX):
            events.put(json.loads(line[len(_EVENT_PREFIX):]))
    events.put(None)


def _kill(proc):
    """Kill the worker's whole process group (it was started in its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _collect_events(proc, events, timeout):
    """Gather a worker's events until it exits, killing it when a fit exceeds ``timeout``."""
    result = dict(status="ok", warmup_seconds=None, points=[])
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    current_tol = None
    while True:
        try:
            event = events.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            _kill(proc)
            if current_tol is None:
                result.update(status="error", error="worker start-up timed out")
            else:
                result.update(status="timeout", timeout_tol=current_tol)
            return result
        if event is None:  # end of the worker's output
            return result
        if event["event"] == "warmup":
            result["warmup_seconds"] = event["seconds"]
        elif event["event"] == "start":
            current_tol = event["tol"]
            deadline = time.monotonic() + timeout
        elif event["event"] == "fitted":
            # The fit is over; the worker now computes gaps (--path: one per alpha).
            deadline = time.monotonic() + _STARTUP_TIMEOUT
        elif event["event"] == "point":
            result["points"].append(event)
            current_tol = None
            # Until the next "start" the worker only computes a gap: no real bound.
            deadline = time.monotonic() + _STARTUP_TIMEOUT


def run_solver_process(spec, timeout, env=None):
    """Run one worker and collect its events, killing it when a fit exceeds ``timeout``.

    Parameters
    ----------
    spec : dict
        Worker specification, see :func:`run_worker`.
    timeout : float
        Longest allowed single fit, in seconds.
    env : dict, default=None
        Environment of the child; None inherits this one.

    Returns
    -------
    result : dict
        ``status`` ("ok", "timeout" or "error"), ``warmup_seconds``, ``points`` (one dict
        per completed rung), and ``timeout_tol`` or ``error`` where relevant.
    """
    cmd = [sys.executable, str(COMMAND_LINE), "--worker", json.dumps(spec)]
    with tempfile.TemporaryFile("w+") as stderr:
        # Own session: a timeout kills the worker and anything it started, nothing else.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                env=env, start_new_session=True)
        try:
            events = queue.Queue()
            reader = threading.Thread(target=_read_events, args=(proc.stdout, events),
                                      daemon=True)
            reader.start()
            result = _collect_events(proc, events, timeout)
            returncode = proc.wait()
            reader.join(timeout=5)
        finally:
            # Ctrl-C or an error here: the worker, in its own session, would not get the
            # SIGINT and would keep running.
            if proc.poll() is None:
                _kill(proc)
        if result["status"] == "ok" and returncode != 0:
            stderr.seek(0)
            tail = stderr.read().strip().splitlines()[-1:] or [f"exit code {returncode}"]
            result.update(status="error", error=tail[0])
    return result


def _cold_numba_env(tmpdir):
    """Environment whose Numba on-disk cache is empty, to time a real first compile."""
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(tmpdir)
    return env


def _chosen_point(points, rel_gap):
    """First rung of the ladder within the requested gap, or None."""
    return next((p for p in points if p["rel_gap"] <= rel_gap), None)


def compare_solver(solver, base_spec, args, cold_compile):
    """Ladder run plus isolated memory run of one solver at one alpha.

    Parameters
    ----------
    solver : str
        Solver name.
    base_spec : dict
        Worker specification without ``solver`` and ``tols``.
    args : argparse.Namespace
        Parsed options (``tols``, ``timeout``, ``memory_run``).
    cold_compile : bool
        Run the ladder with an empty Numba cache (fastsparse only).

    Returns
    -------
    summary : dict
        The ladder result of :func:`run_solver_process` plus ``chosen`` (the rung that
        reached the gap, or None) and ``memory`` (the isolated run's point, or None).
    """
    spec = dict(base_spec, solver=solver, tols=list(args.tols))
    if cold_compile:
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as tmpdir:
            ladder = run_solver_process(spec, args.timeout, env=_cold_numba_env(tmpdir))
    else:
        ladder = run_solver_process(spec, args.timeout)
    ladder["cold_compile"] = cold_compile
    ladder["chosen"] = _chosen_point(ladder["points"], spec["rel_gap"])
    ladder["memory"] = None
    ladder["memory_warmup_seconds"] = None
    if ladder["chosen"] is not None and args.memory_run:
        # A fresh process, so that nothing left by the earlier rungs hides the peak.
        mem = run_solver_process(dict(spec, tols=[ladder["chosen"]["tol"]]),
                                 2 * args.timeout)
        if mem["points"]:
            ladder["memory"] = mem["points"][0]
            ladder["memory_warmup_seconds"] = mem["warmup_seconds"]
    return ladder


def compare_solvers(base_spec, args, cold_pending):
    """Every solver of ``args.solvers`` at one alpha (or C), over ``args.rounds`` rounds.

    Round 1 is :func:`compare_solver` for each solver (ladder, memory run). Each later
    round fits every solver again, in the same order, at the rung it chose in round 1,
    in a fresh process: the solvers' times are taken side by side, round after round,
    so that a ratio can be read per round (a shared machine's speed drifts between
    minutes, and not the same way for every program).

    Returns
    -------
    results : dict
        Solver name -> summary of :func:`compare_solver`, plus ``round_seconds``: the
        chosen rung's time in each round (None where the rung was not reached or timed
        out).
    cold_pending : bool
        Whether the cold-compile run of fastsparse is still to come.
    """
    results = {}
    for solver in args.solvers:
        cold = cold_pending and solver == "fastsparse"
        results[solver] = compare_solver(solver, base_spec, args, cold)
        cold_pending = cold_pending and not cold  # one cold compile per run is enough
        chosen = results[solver]["chosen"]
        results[solver]["round_seconds"] = [chosen["seconds"] if chosen else None]
    for _ in range(getattr(args, "rounds", 1) - 1):
        for solver, res in results.items():
            seconds = None
            if res["chosen"] is not None:
                spec = dict(base_spec, solver=solver, tols=[res["chosen"]["tol"]])
                run = run_solver_process(spec, args.timeout)
                if run["points"]:
                    seconds = run["points"][0]["seconds"]
            res["round_seconds"].append(seconds)
    return results, cold_pending
