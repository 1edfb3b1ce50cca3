"""Tests of scripts/compare_peers.py: its duality gap, alpha_max and an end-to-end run."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import ElasticNet

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_peers.py"


def _load_script():
    """Import the script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("compare_peers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cp = _load_script()


def _problem(seed=0, n=40, p=60):
    """Tiny sparse problem with a non-zero mean, so that the intercept matters."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.15, format="csc", random_state=rng,
                  data_rvs=lambda k: rng.uniform(0.1, 2.0, k))
    w = np.zeros(p)
    w[:5] = rng.standard_normal(5) * 2
    y = X @ w + 2.0 + 0.1 * rng.standard_normal(n)
    return X, y


def _dense_gap(X, y, coef, intercept, alpha, l1_ratio, fit_intercept):
    """Relative gap from dense, explicitly centered arrays.

    The elastic-net conjugate is evaluated as a supremum at its maximiser
    ``w* = S(u, l1) / l2`` (``S`` soft-thresholding) instead of the closed form used by
    the script, so the two computations share no formula.
    """
    A = X.toarray()
    n = A.shape[0]
    r = y - A @ coef - intercept
    primal = r @ r / (2 * n) + alpha * (l1_ratio * np.abs(coef).sum()
                                        + (1 - l1_ratio) / 2 * coef @ coef)
    if fit_intercept:
        A = A - A.mean(axis=0)
        y = y - y.mean()
    theta = y - A @ coef  # the optimal intercept's residual, centered when fitted
    u = A.T @ theta
    l1, l2 = n * alpha * l1_ratio, n * alpha * (1 - l1_ratio)
    if l1_ratio == 1.0:
        theta = theta * min(1.0, l1 / np.abs(u).max())
        conj = 0.0
    else:
        w_star = np.sign(u) * np.maximum(np.abs(u) - l1, 0) / l2
        conj = np.sum(u * w_star - l1 * np.abs(w_star) - l2 / 2 * w_star ** 2)
    dual = (y @ y - (y - theta) @ (y - theta)) / (2 * n) - conj / n
    return (primal - dual) / primal


def _sklearn_fit(X, y, alpha, l1_ratio, fit_intercept, tol=1e-12):
    return ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=tol,
                      max_iter=100_000).fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_relative_gap_tight_and_perturbed(fit_intercept, l1_ratio):
    X, y = _problem()
    alpha = cp.alpha_max(X, y, l1_ratio, fit_intercept) / 10
    model = _sklearn_fit(X, y, alpha, l1_ratio, fit_intercept)
    args = (alpha, l1_ratio, fit_intercept)

    tight = cp.relative_gap(X, y, model.coef_, model.intercept_, *args)
    assert abs(tight) < 1e-9

    coef = model.coef_.copy()
    coef[np.argmax(np.abs(coef))] *= 1.2
    perturbed = cp.relative_gap(X, y, coef, model.intercept_, *args)
    assert perturbed > 1e-4
    # Weak duality: the gap bounds the true relative suboptimality.
    p_star = cp.primal_dual(X, y, model.coef_, model.intercept_, *args)[0]
    p_pert = cp.primal_dual(X, y, coef, model.intercept_, *args)[0]
    assert perturbed >= (p_pert - p_star) / p_pert

    if fit_intercept:  # a wrong intercept raises the primal, hence the gap
        assert cp.relative_gap(X, y, model.coef_, model.intercept_ + 0.1, *args) > 1e-4


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_relative_gap_matches_dense_computation(fit_intercept, l1_ratio):
    X, y = _problem(seed=1)
    alpha = cp.alpha_max(X, y, l1_ratio, fit_intercept) / 5
    # A loose fit, so that the gap is far from zero and the comparison means something.
    model = _sklearn_fit(X, y, alpha, l1_ratio, fit_intercept, tol=1e-1)
    coef = model.coef_ + 0.05 * (model.coef_ != 0)
    intercept = model.intercept_ + 0.01 if fit_intercept else 0.0
    ours = cp.relative_gap(X, y, coef, intercept, alpha, l1_ratio, fit_intercept)
    dense = _dense_gap(X, y, coef, intercept, alpha, l1_ratio, fit_intercept)
    assert ours > 1e-3
    np.testing.assert_allclose(ours, dense, rtol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_alpha_max_is_the_smallest_all_zero_alpha(fit_intercept):
    X, y = _problem(seed=2)
    a_max = cp.alpha_max(X, y, 1.0, fit_intercept)
    assert not _sklearn_fit(X, y, a_max * 1.001, 1.0, fit_intercept).coef_.any()
    assert _sklearn_fit(X, y, a_max * 0.99, 1.0, fit_intercept).coef_.any()


def test_script_end_to_end_on_small(tmp_path):
    env = dict(os.environ, FASTSPARSE_CACHE_DIR=str(tmp_path / "cache"))
    out_json = tmp_path / "out.json"
    cmd = [sys.executable, str(SCRIPT), "--preset", "small", "--alpha-ratio", "10",
           "--solvers", "fastsparse", "sklearn", "--rel-gap", "1e-6",
           "--no-cold-compile", "--timeout", "60", "--json", str(out_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "| solver | time (s) | ratio to fastsparse |" in out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert any(row.startswith("| fastsparse | ") for row in rows)
    assert any("sklearn" in row for row in rows[1:])
    assert "Speed-up of fastsparse over the fastest peer (sklearn)" in out
    assert "numpy" in out and "logical CPUs" in out

    report = json.loads(out_json.read_text())
    for name, res in report["results"][0]["solvers"].items():
        assert res["status"] == "ok", (name, res)
        assert res["chosen"]["rel_gap"] <= 1e-6
        assert res["memory"]["peak_extra_mib"] >= 0


def test_help_shows_an_example():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    assert "example:" in proc.stdout and "--alpha-ratio" in proc.stdout


# --------------------------------------------------------------------------------------
# --path mode
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_alpha_path_grid_is_geometric_from_alpha_max(fit_intercept):
    X, y = _problem(seed=4)
    grid = cp.alpha_path_grid(X, y, 7, 1e-3, fit_intercept)
    a_max = cp.alpha_max(X, y, 1.0, fit_intercept)
    assert grid.shape == (7,)
    np.testing.assert_allclose(grid[[0, -1]], [a_max, a_max * 1e-3], rtol=1e-12)
    np.testing.assert_allclose(grid[1:] / grid[:-1], 1e-3 ** (1 / 6), rtol=1e-12)


@pytest.mark.parametrize("solver", ["fastsparse", "sklearn", "celer", "glmnet"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_run_path_reaches_a_tight_gap_at_every_alpha(solver, fit_intercept):
    if importlib.util.find_spec(cp.PATH_SOLVER_MODULES[solver]) is None:
        pytest.skip(f"{solver} is not installed")
    X, y = _problem(seed=3)
    grid = cp.alpha_path_grid(X, y, 10, 1e-2, fit_intercept)
    # glmnet's thresh bounds objective changes per coordinate update relative to the
    # null deviance, a much weaker criterion: on this problem its thresh 1e-12 leaves
    # relative gaps up to 5e-5, and 1e-20 about 5e-9.
    tol, bound = (1e-20, 1e-7) if solver == "glmnet" else (1e-12, 1e-9)
    coefs, intercepts, _ = cp.run_path(solver, X, y, grid, fit_intercept, tol)
    assert coefs.shape == (X.shape[1], grid.size) and intercepts.shape == (grid.size,)
    gaps = cp.path_relative_gaps(X, y, coefs, intercepts, grid, fit_intercept)
    assert gaps.max() < bound


def test_glmnet_path_ended_early_is_not_certified(monkeypatch):
    # glmnet's deviance rules end only its own grid early, and its pmax / dfmax caps
    # end any grid. Whatever the cause, the alphas it did not reach must come back as
    # empty columns flagged by n_solved, never as zero coefficients passed off as
    # solutions. A stand-in glmnet that stops after 3 of 6 alphas checks that.
    glmnetrs = pytest.importorskip("glmnetrs")
    X, y = _problem(seed=4)
    grid = cp.alpha_path_grid(X, y, 6, 1e-2, True)
    real = glmnetrs.glmnet

    def stops_early(*args, lambda_, **kwargs):
        return real(*args, lambda_=lambda_[:3], **kwargs)

    monkeypatch.setattr(glmnetrs, "glmnet", stops_early)
    coefs, intercepts, extra = cp.run_path("glmnet", X, y, grid, True, 1e-20)
    assert extra["n_solved"] == 3 and coefs.shape == (X.shape[1], 6)
    assert coefs[:, 3:].nnz == 0 and coefs[:, 2].nnz > 0 and np.all(intercepts[3:] == 0)
    gaps = cp.path_relative_gaps(X, y, coefs[:, :3], intercepts[:3], grid[:3], True)
    assert gaps.max() < 1e-7  # what it did solve is kept


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_worst_gap_flags_a_perturbed_path(fit_intercept):
    X, y = _problem(seed=5)
    grid = cp.alpha_path_grid(X, y, 8, 1e-2, fit_intercept)
    models = [_sklearn_fit(X, y, a, 1.0, fit_intercept) for a in grid]
    coefs = np.column_stack([m.coef_ for m in models])
    intercepts = np.array([float(m.intercept_) for m in models])

    tight = cp.path_relative_gaps(X, y, coefs, intercepts, grid, fit_intercept)
    summary = cp.summarize_path_gaps(tight, 1e-6)
    assert summary["worst_rel_gap"] < 1e-9 and summary["n_above"] == 0
    # A sparse coefficient matrix gives the same gaps (fastsparse returns one).
    np.testing.assert_allclose(
        cp.path_relative_gaps(X, y, sp.csc_matrix(coefs), intercepts, grid, fit_intercept),
        tight, rtol=0, atol=1e-14)

    # One perturbed alpha in the middle of the path: the worst gap is there, and it is
    # the only one flagged, however good the median is.
    k = 5
    perturbed = coefs.copy()
    perturbed[np.argmax(np.abs(perturbed[:, k])), k] *= 1.2
    gaps = cp.path_relative_gaps(X, y, perturbed, intercepts, grid, fit_intercept)
    summary = cp.summarize_path_gaps(gaps, 1e-6)
    assert summary["worst_index"] == k and summary["worst_rel_gap"] > 1e-4
    assert summary["n_above"] == 1 and summary["median_rel_gap"] < 1e-9

    if fit_intercept:  # a wrong intercept at one alpha is flagged too
        shifted = intercepts.copy()
        shifted[-1] += 0.1
        gaps = cp.path_relative_gaps(X, y, coefs, shifted, grid, fit_intercept)
        assert cp.summarize_path_gaps(gaps, 1e-6)["worst_index"] == grid.size - 1
        assert gaps[-1] > 1e-4


def test_path_mode_end_to_end_on_small(tmp_path):
    env = dict(os.environ, FASTSPARSE_CACHE_DIR=str(tmp_path / "cache"))
    out_json = tmp_path / "path.json"
    cmd = [sys.executable, str(SCRIPT), "--path", "--preset", "small", "--n-alphas", "10",
           "--eps", "1e-2", "--solvers", "fastsparse", "sklearn", "--rel-gap", "1e-6",
           "--no-cold-compile", "--timeout", "60", "--json", str(out_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "| solver | path run as | path time (s) | ratio to fastsparse | worst rel gap" in out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert any(row.startswith("| fastsparse | lasso_path | ") for row in rows)
    # With an intercept (the default) sklearn's path is a warm-started Lasso loop.
    assert any("sklearn" in row and "Lasso(warm_start) loop" in row for row in rows)
    assert "Speed-up of fastsparse's path over the fastest peer (sklearn)" in out
    assert "How each path was run" in out and "warm_start=True" in out

    report = json.loads(out_json.read_text())
    assert report["mode"] == "path" and len(report["alphas"]) == 10
    for name, res in report["results"].items():
        assert res["status"] == "ok", (name, res)
        chosen = res["chosen"]
        assert len(chosen["gaps"]) == 10 and max(chosen["gaps"]) <= 1e-6
        assert chosen["rel_gap"] == max(chosen["gaps"])
        assert res["memory"]["peak_extra_mib"] >= 0
    assert len(report["results"]["fastsparse"]["chosen"]["alpha_seconds"]) == 10


def test_path_rounds_time_every_path_again_side_by_side(tmp_path):
    # --path --rounds 2: the ladders once, then every solver's whole path again at its
    # chosen rung; the rounds table's median is recomputed here from the JSON.
    env = dict(os.environ, FASTSPARSE_CACHE_DIR=str(tmp_path / "cache"))
    out_json = tmp_path / "path.json"
    cmd = [sys.executable, str(SCRIPT), "--path", "--preset", "small", "--n-alphas", "6",
           "--eps", "1e-2", "--solvers", "fastsparse", "sklearn", "--no-cold-compile",
           "--no-memory-run", "--timeout", "60", "--rounds", "2", "--json", str(out_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out_json.read_text())["results"]
    times = {name: res["round_seconds"] for name, res in results.items()}
    assert all(len(t) == 2 and all(s is not None and s > 0 for s in t)
               for t in times.values()), times
    assert times["fastsparse"][0] == results["fastsparse"]["chosen"]["seconds"]
    ratios = np.array(times["sklearn"]) / np.array(times["fastsparse"])
    assert f"median **{np.median(ratios):.2f}x**" in proc.stdout

    cv = subprocess.run([sys.executable, str(SCRIPT), "--cv", "--preset", "small",
                         "--rounds", "2"], capture_output=True, text=True, env=env,
                        timeout=120)
    assert cv.returncode != 0 and "--rounds" in cv.stderr


def test_cv_mode_end_to_end_on_small(tmp_path):
    env = dict(os.environ, FASTSPARSE_CACHE_DIR=str(tmp_path / "cache"))
    out_json = tmp_path / "cv.json"
    cmd = [sys.executable, str(SCRIPT), "--cv", "--preset", "small", "--n-alphas", "5",
           "--eps", "1e-2", "--cv-folds", "3", "--n-jobs", "2", "--timeout", "60",
           "--json", str(out_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "| solver | fit time (s) | ratio to fastsparse | peak extra memory (MiB)" in out
    assert "3-fold LassoCV, n_jobs=2" in out

    report = json.loads(out_json.read_text())
    assert report["mode"] == "cv" and sorted(report["results"]) == ["fastsparse", "sklearn"]
    points = {name: res["points"][0] for name, res in report["results"].items()}
    for name, point in points.items():
        assert report["results"][name]["status"] == "ok"
        assert point["seconds"] > 0 and point["peak_extra_mib"] >= 0
        assert point["alpha"] in report["alphas"]
    # Same grid, same folds, same objective: the same alpha is selected.
    assert points["fastsparse"]["alpha"] == points["sklearn"]["alpha"]


def test_rounds_time_every_solver_again_side_by_side(tmp_path):
    # --rounds 3: the ladders once, then every solver twice more at its chosen rung; the
    # per-round table and the median ratio come from those times (recomputed here from
    # the JSON).
    env = dict(os.environ, FASTSPARSE_CACHE_DIR=str(tmp_path / "cache"))
    out_json = tmp_path / "out.json"
    cmd = [sys.executable, str(SCRIPT), "--model", "logistic", "--preset", "small",
           "--alpha-ratio", "10", "--no-fit-intercept", "--solvers", "fastsparse",
           "sklearn-liblinear", "--no-cold-compile", "--no-memory-run", "--timeout", "60",
           "--rounds", "3", "--json", str(out_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    solvers = json.loads(out_json.read_text())["results"][0]["solvers"]
    times = {name: res["round_seconds"] for name, res in solvers.items()}
    assert all(len(t) == 3 and all(s is not None and s > 0 for s in t)
               for t in times.values()), times
    # Round 1 is the ladder's own time at the chosen rung.
    assert times["fastsparse"][0] == solvers["fastsparse"]["chosen"]["seconds"]
    ratios = np.array(times["sklearn-liblinear"]) / np.array(times["fastsparse"])
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")
            and line.split("|")[1].strip() in ("1", "2", "3")]
    assert len(rows) == 3
    assert f"median **{np.median(ratios):.2f}x**" in proc.stdout
    assert f"smallest {ratios.min():.2f}x" in proc.stdout

    bad = subprocess.run(cmd[:-4] + ["--rounds", "0"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert bad.returncode != 0 and "--rounds" in bad.stderr
