"""Tests of the ``fastsparse`` command line (the fastsparse/cli/ package, fastsparse/__main__.py).

Most tests call ``cli.main([...])`` in-process (fast) and parse its stdout. Each result is
checked against an independent computation on the same data: the library called
directly (the CLI is plumbing, so the numbers must be the same), closed forms (alpha_max,
null deviances, relative gaps) and scikit-learn (objective values, ridge coefficients).
A few subprocess tests cover what only a real process shows: exit codes, one-line errors
without a traceback, the console script and ``python -m fastsparse`` (the demo).
"""

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import Ridge as SkRidge

import fastsparse
from fastsparse import cli
from fastsparse.cli import _inputs, _output
from fastsparse.datasets import load_svmlight, make_sparse_data

N, P = 150, 400


# --------------------------------------------------------------------------------------
# Fixtures: small files written once per module
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Regression and classification svmlight files, an .npz + .npy pair, names."""
    d = tmp_path_factory.mktemp("cli")
    X, y, w = make_sparse_data(N, P, density=0.05, n_informative=8, random_state=0)
    # n_features fixed when reading back: the loader drops trailing empty columns.
    dump_svmlight_file(X, y, str(d / "reg.svm"), zero_based=False)
    Xc, yc, _ = make_sparse_data(N, P, density=0.05, n_informative=8,
                                 task="classification", random_state=1)
    dump_svmlight_file(Xc, yc, str(d / "clf.svm"), zero_based=False)
    # The text format rounds values to 16 digits: the references below use the matrices
    # read back from the files, the data the command line sees.
    X, y = load_svmlight(d / "reg.svm", n_features=P)
    Xc, yc = load_svmlight(d / "clf.svm", n_features=P)
    sp.save_npz(d / "reg.npz", X)
    np.save(d / "y.npy", y)
    names = [f"term_{j}" for j in range(P)]
    (d / "names.txt").write_text("\n".join(names) + "\n")
    return dict(dir=d, X=X, y=y, w=w, Xc=Xc, yc=yc, names=names,
                reg=str(d / "reg.svm"), clf=str(d / "clf.svm"),
                npz=str(d / "reg.npz"), ynpy=str(d / "y.npy"),
                names_file=str(d / "names.txt"))


def run(capsys, *argv):
    """main(argv) in-process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out, parse_constant=_reject), err


def _reject(token):
    raise AssertionError(f"non-standard JSON constant {token}")


def assert_one_line_error(code, err, expected_code, *fragments):
    assert code == expected_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastsparse: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]


def selected_as_dense(report, p):
    coef = np.zeros(p)
    for row in report["selected"]:
        coef[row["index"]] = row["coef"]
    return coef


def lasso_objective(X, y, w, b, alpha):
    r = y - X @ w - b
    return r @ r / (2 * X.shape[0]) + alpha * np.abs(w).sum()


# --------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------


def test_fit_lasso_equals_library_and_is_optimal(files, capsys):
    X, y = files["X"], files["y"]
    alpha = 2e-3
    rep, _ = run_json(capsys, "fit", files["reg"], "--alpha", alpha, "--tol", 1e-8)
    assert (rep["n_samples"], rep["n_features"], rep["nnz"]) == (N, P, X.nnz)
    assert rep["model"] == "lasso" and rep["alpha"] == alpha
    est = fastsparse.Lasso(alpha=alpha, tol=1e-8).fit(X, y)
    w = selected_as_dense(rep, P)
    np.testing.assert_allclose(w, est.coef_, rtol=1e-12, atol=1e-14)
    assert rep["n_selected"] == np.count_nonzero(est.coef_) == len(rep["selected"])
    assert rep["intercept"] == pytest.approx(est.intercept_, rel=1e-12)
    # Sorted by |coef|, largest first.
    mags = [abs(r["coef"]) for r in rep["selected"]]
    assert mags == sorted(mags, reverse=True)
    # The gap, relative to the null model as --tol is, is small, and the objective is at
    # least as good as scikit-learn's (dense reference, tight tolerance) up to that gap.
    d0 = np.sum((y - y.mean()) ** 2) / N
    assert rep["relative_gap"] == pytest.approx(rep["dual_gap"] / d0, rel=1e-12)
    assert rep["relative_gap"] <= 1e-8 and rep["converged"] is True
    sk = SkLasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X.toarray(), y)
    ours = lasso_objective(X, y, w, rep["intercept"], alpha)
    ref = lasso_objective(X, y, sk.coef_, sk.intercept_, alpha)
    assert ours <= ref + 1e-10 * d0
    assert set(rep["timings"]) == {"load_seconds", "fit_seconds"}


def test_fit_default_alpha_is_alpha_max_over_10(files, capsys):
    X, y = files["X"], files["y"]
    rep, _ = run_json(capsys, "fit", files["reg"])
    # Closed form with intercept: max_j |x_j^T (y - ybar)| / n.
    a_max = np.abs(X.T @ (y - y.mean())).max() / N
    assert rep["alpha_max"] == pytest.approx(a_max, rel=1e-10)
    assert rep["alpha"] == pytest.approx(a_max / 10, rel=1e-10)


def test_fit_enet_no_intercept_names_top_and_csv(files, capsys):
    X, y, names = files["X"], files["y"], files["names"]
    args = ["fit", files["reg"], "--model", "enet", "--alpha", 1e-3, "--l1-ratio", 0.3,
            "--no-intercept", "--feature-names", files["names_file"]]
    rep, _ = run_json(capsys, *args, "--top", 5)
    est = fastsparse.ElasticNet(alpha=1e-3, l1_ratio=0.3, fit_intercept=False,
                                tol=1e-6).fit(X, y)
    order = np.argsort(-np.abs(est.coef_), kind="stable")[:5]
    assert [r["index"] for r in rep["selected"]] == order.tolist()
    assert [r["name"] for r in rep["selected"]] == [names[j] for j in order]
    assert rep["n_selected"] == np.count_nonzero(est.coef_) > 5
    assert rep["intercept"] == 0.0
    assert rep["relative_gap"] == pytest.approx(rep["dual_gap"] / (y @ y / N), rel=1e-12)

    code, out, _ = run(capsys, *args, "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["index", "name", "coef"]
    assert len(rows) - 1 == np.count_nonzero(est.coef_)
    for idx, name, coef in rows[1:]:
        assert name == names[int(idx)]
        assert float(coef) == est.coef_[int(idx)]  # repr round-trips exactly


def test_fit_ridge_matches_scikit_learn(files, capsys):
    X, y = files["X"], files["y"]
    rep, _ = run_json(capsys, "fit", files["reg"], "--model", "ridge", "--alpha", 0.5,
                      "--tol", 1e-10)
    sk = SkRidge(alpha=0.5, solver="cholesky").fit(X.toarray(), y)
    np.testing.assert_allclose(selected_as_dense(rep, P), sk.coef_, rtol=1e-6,
                               atol=1e-8 * np.abs(sk.coef_).max())
    assert rep["intercept"] == pytest.approx(sk.intercept_, rel=1e-6)
    assert rep["converged"] is True


def test_fit_logistic_equals_library(files, capsys):
    X, y = files["Xc"], files["yc"]
    rep, _ = run_json(capsys, "fit", files["clf"], "--model", "logistic", "--C", 2.0,
                      "--tol", 1e-8)
    est = fastsparse.LogisticRegression(C=2.0, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(selected_as_dense(rep, P), est.coef_[0], rtol=1e-12,
                               atol=1e-14)
    assert rep["C"] == 2.0 and rep["alpha"] == pytest.approx(1 / (2.0 * N))
    assert rep["classes"] == [0.0, 1.0]
    # Relative gap: gap / (C * null deviance), the null deviance in closed form.
    p = y.mean()
    d0 = -2 * N * (p * math.log(p) + (1 - p) * math.log(1 - p))
    assert rep["relative_gap"] == pytest.approx(rep["dual_gap"] / (2.0 * d0), rel=1e-10)
    assert rep["relative_gap"] <= 1e-8

    # --alpha is the alpha form: C = 1 / (alpha n).
    rep2, _ = run_json(capsys, "fit", files["clf"], "--model", "logistic", "--alpha",
                       1 / (2.0 * N), "--tol", 1e-8)
    assert rep2["C"] == pytest.approx(2.0, rel=1e-12)
    assert [r["index"] for r in rep2["selected"]] == [r["index"] for r in rep["selected"]]


def test_fit_logistic_multiclass(files, capsys, tmp_path):
    X = files["Xc"]
    y = np.arange(N) % 3.0
    path = tmp_path / "multi.svm"
    dump_svmlight_file(X, y, str(path), zero_based=False)
    rep, _ = run_json(capsys, "fit", path, "--model", "logistic", "--C", 5.0)
    est = fastsparse.LogisticRegression(C=5.0, tol=1e-6).fit(X, y)
    assert rep["classes"] == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(rep["intercept"], est.intercept_, rtol=1e-12)
    for row in rep["selected"]:
        np.testing.assert_allclose(row["coef"], est.coef_[:, row["index"]], rtol=1e-12)
    assert rep["n_selected"] == np.count_nonzero(np.any(est.coef_ != 0, axis=0))
    code, out, _ = run(capsys, "fit", path, "--model", "logistic", "--C", 5.0,
                       "--format", "csv")
    assert next(csv.reader(io.StringIO(out))) == ["index", "name", "coef_0", "coef_1",
                                                  "coef_2"]


def test_verbose_output_goes_to_stderr_only(files, capsys):
    # The solver prints its iterations with print(): they must not reach stdout.
    rep, err = run_json(capsys, "fit", files["reg"], "--alpha", 1e-3, "-v")
    assert "[fastsparse] iter" in err
    assert rep["n_selected"] > 0


def test_convergence_warning_reported_not_fatal(files, capsys):
    rep, err = run_json(capsys, "fit", files["reg"], "--alpha", 1e-5, "--tol", 1e-14,
                        "--max-iter", 1)
    assert rep["converged"] is False
    assert rep["warnings"] and "ConvergenceWarning" in rep["warnings"][0]
    assert "fastsparse: warning: ConvergenceWarning" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------------------
# input formats
# --------------------------------------------------------------------------------------


def test_npz_with_target_file_and_target_column(files, capsys, tmp_path):
    X, y = files["X"], files["y"]
    ref, _ = run_json(capsys, "fit", files["reg"], "--alpha", 1e-3)
    rep, _ = run_json(capsys, "fit", files["npz"], "--target", files["ynpy"],
                      "--alpha", 1e-3)
    assert rep["selected"] == ref["selected"]
    # The target as a text file, one value per line.
    np.savetxt(tmp_path / "y.txt", y)
    rep, _ = run_json(capsys, "fit", files["npz"], "--target", tmp_path / "y.txt",
                      "--alpha", 1e-3)
    assert [r["index"] for r in rep["selected"]] == [r["index"] for r in ref["selected"]]

    # y inserted as column 7 of X: --target-column 7 must give back exactly (X, y). Feature
    # names may include the target's line (dropped) or not.
    k = 7
    full = sp.hstack([X[:, :k], sp.csc_matrix(y[:, None]), X[:, k:]], format="csc")
    sp.save_npz(tmp_path / "full.npz", full)
    names = [f"f{j}" for j in range(P)]
    (tmp_path / "n_all.txt").write_text("\n".join(names[:k] + ["TARGET"] + names[k:]))
    (tmp_path / "n_feat.txt").write_text("\n".join(names))
    for names_file in ("n_all.txt", "n_feat.txt"):
        for col in (k, k - (P + 1)):  # also as a negative index
            rep, _ = run_json(capsys, "fit", tmp_path / "full.npz", "--target-column", col,
                              "--alpha", 1e-3, "--feature-names", tmp_path / names_file)
            assert rep["n_features"] == P and rep["nnz"] == X.nnz
            assert [r["index"] for r in rep["selected"]] == \
                [r["index"] for r in ref["selected"]]
            np.testing.assert_allclose([r["coef"] for r in rep["selected"]],
                                       [r["coef"] for r in ref["selected"]], rtol=1e-10)
            assert [r["name"] for r in rep["selected"]] == \
                [names[r["index"]] for r in ref["selected"]]


def test_save_csc_directory(files, capsys, tmp_path):
    from fastsparse.io import save_csc

    X, y = files["X"], files["y"]
    ref, _ = run_json(capsys, "fit", files["reg"], "--alpha", 1e-3)
    save_csc(tmp_path / "with_y", X, y)
    rep, _ = run_json(capsys, "fit", tmp_path / "with_y", "--alpha", 1e-3)
    assert rep["selected"] == ref["selected"]
    # float32 on disk stays float32 (no copy of the map) unless --dtype says otherwise.
    save_csc(tmp_path / "f32", X.astype(np.float32), y)
    rep, _ = run_json(capsys, "fit", tmp_path / "f32", "--alpha", 1e-3)
    est = fastsparse.Lasso(alpha=1e-3, tol=1e-6).fit(X.astype(np.float32), y)
    np.testing.assert_allclose(selected_as_dense(rep, P), est.coef_, rtol=1e-6)
    # No stored target: --target-column, or an error.
    save_csc(tmp_path / "no_y", sp.hstack([X, sp.csc_matrix(y[:, None])], format="csc"))
    rep, _ = run_json(capsys, "fit", tmp_path / "no_y", "--target-column", -1,
                      "--alpha", 1e-3)
    assert [r["index"] for r in rep["selected"]] == [r["index"] for r in ref["selected"]]
    code, _, err = run(capsys, "fit", tmp_path / "no_y")
    assert_one_line_error(code, err, 1, "--target")
    # A directory that is not a dataset.
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "fit", tmp_path / "empty")
    assert_one_line_error(code, err, 1, "empty")


def test_convert_then_fit_equals_the_svmlight_fit(files, capsys, tmp_path):
    from fastsparse.io import load_csc

    dst = tmp_path / "data.csc"
    rep, _ = run_json(capsys, "convert", files["reg"], dst)
    assert rep["command"] == "convert" and rep["nnz"] == files["X"].nnz
    assert (rep["n_samples"], rep["n_features"]) == files["X"].shape
    X2, y2 = load_csc(dst)
    Xr, yr = load_svmlight(files["reg"])
    assert (X2 != Xr).nnz == 0 and np.array_equal(y2, yr)
    ref, _ = run_json(capsys, "fit", files["reg"], "--alpha", 1e-3)
    got, _ = run_json(capsys, "fit", dst, "--alpha", 1e-3)
    assert got["selected"] == ref["selected"]
    # Existing output: a one-line error naming the option, and nothing touched.
    code, _, err = run(capsys, "convert", files["reg"], dst)
    assert_one_line_error(code, err, 1, "--overwrite")
    run_json(capsys, "convert", files["reg"], dst, "--overwrite")
    code, _, err = run(capsys, "convert", tmp_path / "missing.svm", tmp_path / "out")
    assert_one_line_error(code, err, 1, "missing.svm")
    assert not (tmp_path / "out").exists()


def test_pop_column_keeps_x_sparse_and_exact():
    rng = np.random.default_rng(0)
    A = sp.random(30, 9, density=0.3, format="csc", random_state=rng)
    for j in range(9):
        X2, y = _inputs._pop_column(A, j)
        dense = A.toarray()
        np.testing.assert_array_equal(y, dense[:, j])
        assert X2.format == "csc" and X2.nnz == A.nnz - np.count_nonzero(dense[:, j])
        np.testing.assert_array_equal(X2.toarray(), np.delete(dense, j, axis=1))


def test_gzip_svmlight_and_float32(files, capsys, tmp_path):
    import gzip

    raw = Path(files["reg"]).read_bytes()
    with gzip.open(tmp_path / "reg.svm.gz", "wb") as f:
        f.write(raw)
    ref, _ = run_json(capsys, "fit", files["reg"], "--alpha", 1e-3)
    rep, _ = run_json(capsys, "fit", tmp_path / "reg.svm.gz", "--alpha", 1e-3)
    assert rep["selected"] == ref["selected"]
    rep, _ = run_json(capsys, "fit", files["reg"], "--alpha", 1e-3, "--dtype", "float32")
    assert [r["index"] for r in rep["selected"]] == [r["index"] for r in ref["selected"]]


# --------------------------------------------------------------------------------------
# path, cv, select, generate
# --------------------------------------------------------------------------------------


def test_path_equals_enet_path(files, capsys):
    X, y = files["X"], files["y"]
    rep, err = run_json(capsys, "path", files["reg"], "--model", "enet", "--l1-ratio",
                        0.7, "--n-alphas", 12, "--eps", 1e-2, "--verbose")
    res = fastsparse.enet_path(X, y, l1_ratio=0.7, n_alphas=12, eps=1e-2, tol=1e-6)
    rows = rep["path"]
    np.testing.assert_allclose([r["alpha"] for r in rows], res.alphas, rtol=1e-12)
    assert [r["n_nonzero"] for r in rows] == res.n_nonzero.tolist()
    np.testing.assert_allclose([r["dual_gap"] for r in rows], res.dual_gaps, rtol=1e-9,
                               atol=1e-18)
    # dev_ratio from its definition, with the path's own coefficients.
    coefs = sp.csc_matrix(res.coefs)
    d0 = np.sum((y - y.mean()) ** 2)
    for k, r in enumerate(rows):
        resid = y - X @ coefs[:, k].toarray().ravel() - res.intercepts[k]
        assert r["dev_ratio"] == pytest.approx(1 - resid @ resid / d0, abs=1e-9)
        assert r["relative_gap"] <= 1e-6
    assert rep["summary"]["n_alphas"] == 12 and rep["summary"]["all_converged"]
    # Features in order of entry: the first one is the argmax of |x_j^T (y - ybar)|.
    first = rep["summary"]["first_entered"][0]
    assert first["index"] == int(np.argmax(np.abs(X.T @ (y - y.mean()))))
    # The progress bar went to stderr (stdout parsed as JSON above).
    assert "path" in err


def test_path_logistic_csv_and_dev_ratio(files, capsys):
    X, y = files["Xc"], files["yc"]
    code, out, _ = run(capsys, "path", files["clf"], "--model", "logistic",
                       "--n-alphas", 5, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    res = fastsparse.logistic_path(X, y, n_Cs=5, tol=1e-6)
    np.testing.assert_allclose([float(r["C"]) for r in rows], res.Cs, rtol=1e-12)
    coefs = sp.csc_matrix(res.coefs)
    p = y.mean()
    d0 = -2 * N * (p * math.log(p) + (1 - p) * math.log(1 - p))
    for k, r in enumerate(rows):
        z = X @ coefs[:, k].toarray().ravel() + res.intercepts[k]
        prob = 1 / (1 + np.exp(-z))
        dev = -2 * np.sum(y * np.log(prob) + (1 - y) * np.log(1 - prob))
        assert float(r["dev_ratio"]) == pytest.approx(1 - dev / d0, abs=1e-9)
        assert int(r["n_nonzero"]) == coefs[:, k].nnz
        assert r["converged"] == "true"


def test_path_and_cv_plots(files, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    rep, _ = run_json(capsys, "path", files["reg"], "--n-alphas", 8,
                      "--plot", tmp_path / "path.png")
    assert (tmp_path / "path.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rep, _ = run_json(capsys, "cv", files["reg"], "--n-alphas", 8, "--cv", 3,
                      "--plot", tmp_path / "cv.svg")
    assert b"<svg" in (tmp_path / "cv.svg").read_bytes()[:2000]
    assert sorted(os.listdir(tmp_path)) == ["cv.svg", "path.png"]  # no temp files left


def test_plot_without_matplotlib(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    code, out, err = run(capsys, "path", files["reg"], "--plot", tmp_path / "p.png")
    assert_one_line_error(code, err, 1, "matplotlib")
    assert out == "" and not list(tmp_path.iterdir())


def test_cv_equals_lassocv_and_elasticnetcv(files, capsys):
    X, y = files["X"], files["y"]
    rep, _ = run_json(capsys, "cv", files["reg"], "--cv", 3, "--n-alphas", 15,
                      "--n-jobs", 2)
    est = fastsparse.LassoCV(cv=3, n_alphas=15, tol=1e-6).fit(X, y)
    assert rep["alpha"] == est.alpha_ and rep["alpha_1se"] == est.alpha_1se_
    np.testing.assert_allclose([r["mean_mse"] for r in rep["cv_path"]],
                               est.mse_path_.mean(axis=1), rtol=1e-9)
    np.testing.assert_allclose(selected_as_dense(rep, P), est.coef_, rtol=1e-10,
                               atol=1e-14)
    assert rep["relative_gap"] <= 1e-6

    rep, _ = run_json(capsys, "cv", files["reg"], "--model", "enet", "--l1-ratio", 0.5,
                      1.0, "--cv", 3, "--n-alphas", 10, "--selection-rule", "1se")
    est = fastsparse.ElasticNetCV(l1_ratio=[0.5, 1.0], cv=3, n_alphas=10, tol=1e-6,
                                  selection_rule="1se").fit(X, y)
    assert rep["l1_ratio"] == est.l1_ratio_ and rep["alpha"] == est.alpha_1se_
    i = [0.5, 1.0].index(est.l1_ratio_)
    np.testing.assert_allclose([r["mean_mse"] for r in rep["cv_path"]],
                               est.mse_path_[i].mean(axis=1), rtol=1e-9)
    np.testing.assert_allclose(selected_as_dense(rep, P), est.coef_, rtol=1e-10,
                               atol=1e-14)


def test_cv_logistic(files, capsys):
    X, y = files["Xc"], files["yc"]
    rep, _ = run_json(capsys, "cv", files["clf"], "--model", "logistic", "--cv", 3,
                      "--n-alphas", 4, "--scoring", "accuracy")
    est = fastsparse.LogisticRegressionCV(Cs=4, cv=3, scoring="accuracy",
                                          tol=1e-6).fit(X, y)
    assert rep["C"] == est.C_[0] and rep["scoring"] == "accuracy"
    np.testing.assert_allclose([r["mean_score"] for r in rep["cv_path"]],
                               est.scores_.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(selected_as_dense(rep, P), est.coef_[0], rtol=1e-10,
                               atol=1e-14)


def test_select_equals_select_features(files, capsys):
    from fastsparse.selection import select_features

    X, y, names = files["X"], files["y"], files["names"]
    rep, _ = run_json(capsys, "select", files["reg"], "--n-features", 5,
                      "--feature-names", files["names_file"])
    res = select_features(X, y, n_features=5, feature_names=names)
    assert rep["indices"] == res.indices.tolist()
    assert rep["n_selected"] == res.n_selected == len(rep["selected"])
    assert rep["alpha"] == res.alpha and rep["exact"] == res.exact
    got = {r["index"]: (r["name"], r["coef"]) for r in rep["selected"]}
    for j, name, c in zip(res.indices, res.names, res.coef):
        assert got[int(j)] == (name, pytest.approx(float(c), rel=1e-12))
    # Independent check: a Lasso at the reported alpha selects the same features.
    est = fastsparse.Lasso(alpha=rep["alpha"], tol=1e-8).fit(X, y)
    assert np.flatnonzero(est.coef_).tolist() == rep["indices"]

    rep, _ = run_json(capsys, "select", files["clf"], "--model", "logistic", "--C", 1.0)
    est = fastsparse.LogisticRegression(C=1.0, tol=1e-6).fit(files["Xc"], files["yc"])
    assert rep["indices"] == np.flatnonzero(est.coef_[0]).tolist()
    assert rep["C"] == 1.0


def test_generate_writes_make_sparse_data(capsys, tmp_path):
    out = tmp_path / "g.svm"
    rep, _ = run_json(capsys, "generate", out, "--n-samples", 80, "--n-features", 300,
                      "--n-informative", 6, "--seed", 3)
    X, y, w = make_sparse_data(80, 300, n_informative=6, random_state=3)
    X2, y2 = load_svmlight(out, n_features=300)
    np.testing.assert_allclose(X2.toarray(), X.toarray(), rtol=1e-15)
    np.testing.assert_allclose(y2, y, rtol=1e-15)
    assert rep["informative"] == np.flatnonzero(w).tolist()
    assert (rep["n_samples"], rep["n_features"], rep["nnz"]) == (80, 300, X.nnz)
    assert sorted(os.listdir(tmp_path)) == ["g.svm"]


# --------------------------------------------------------------------------------------
# output, errors, interrupts
# --------------------------------------------------------------------------------------


def test_output_file_atomic(files, capsys, tmp_path, monkeypatch):
    out = tmp_path / "res.json"
    code, stdout, _ = run(capsys, "fit", files["reg"], "--alpha", 1e-3, "--output", out)
    assert code == 0 and stdout == ""
    first = out.read_text()
    assert json.loads(first)["alpha"] == 1e-3
    # A failure at the last step (the rename) leaves the old file and no temporary file.
    def fail(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_output.os, "replace", fail)
    code, stdout, err = run(capsys, "fit", files["reg"], "--alpha", 2e-3, "--output", out)
    assert_one_line_error(code, err, 1, "No space left")
    assert out.read_text() == first and os.listdir(tmp_path) == ["res.json"]
    monkeypatch.undo()
    # A data error writes nothing at all.
    new = tmp_path / "new.json"
    code, _, err = run(capsys, "fit", files["reg"], "--feature-names", files["ynpy"],
                       "--output", new)
    assert code == 1 and os.listdir(tmp_path) == ["res.json"]


@pytest.mark.parametrize("case", [
    "missing", "garbage", "npz-no-target", "target-length", "names-length", "nan-x",
    "inf-y", "bad-target-file", "target-column-range", "output-dir", "one-class",
])
def test_data_errors_are_one_line(files, capsys, tmp_path, case):
    d = tmp_path
    reg, npz = files["reg"], files["npz"]
    if case == "missing":
        argv, frag = ["fit", d / "nope.svm"], "not found"
    elif case == "garbage":
        (d / "bad.svm").write_bytes(b"\x00\x01 this is not svmlight\n:::\n")
        argv, frag = ["fit", d / "bad.svm"], "bad.svm"
    elif case == "npz-no-target":
        argv, frag = ["fit", npz], "--target"
    elif case == "target-length":
        np.save(d / "short.npy", np.zeros(N - 1))
        argv, frag = ["fit", npz, "--target", d / "short.npy"], f"{N - 1}"
    elif case == "names-length":
        (d / "names.txt").write_text("a\nb\n")
        argv, frag = ["fit", reg, "--feature-names", d / "names.txt", "--target-column",
                      0], "names"
    elif case == "nan-x":
        (d / "nan.svm").write_text("1.0 1:0.5 2:nan\n2.0 1:1.0\n3.0 2:2.0\n")
        argv, frag = ["fit", d / "nan.svm"], "NaN"
    elif case == "inf-y":
        y = files["y"].copy()
        y[3] = np.inf
        np.save(d / "yinf.npy", y)
        argv, frag = ["fit", npz, "--target", d / "yinf.npy"], "NaN or infinite"
    elif case == "bad-target-file":
        (d / "y.txt").write_text("1\n2\nthree\n")
        argv, frag = ["fit", npz, "--target", d / "y.txt"], "target"
    elif case == "target-column-range":
        argv, frag = ["fit", npz, "--target-column", P + 5], "out of range"
    elif case == "output-dir":
        argv, frag = ["fit", reg, "--output", d / "no" / "such" / "dir.json"], "directory"
    elif case == "one-class":
        y = np.ones(N)
        np.save(d / "ones.npy", y)
        argv, frag = ["fit", npz, "--target", d / "ones.npy", "--model", "logistic"], \
            "class"
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, err, 1, frag)
    assert out == ""


@pytest.mark.parametrize("argv, frag", [
    (["fit", "X", "--alpha", "-1"], "--alpha"),
    (["fit", "X", "--alpha", "nan"], "--alpha"),
    (["fit", "X", "--l1-ratio", "1.5", "--model", "enet"], "--l1-ratio"),
    (["fit", "X", "--model", "lasso", "--C", "1"], "--C"),
    (["fit", "X", "--model", "lasso", "--l1-ratio", "0.5"], "--l1-ratio"),
    (["fit", "X", "--model", "svm"], "--model"),
    (["fit", "X", "--target", "a", "--target-column", "1"], "not allowed"),
    (["cv", "X", "--cv", "1"], "--cv"),
    (["cv", "X", "--model", "logistic", "--l1-ratio", "0.5", "1"], "single"),
    (["path", "X", "--model", "enet", "--l1-ratio", "0"], "l1-ratio"),
    (["select", "X"], "--n-features"),
    (["select", "X", "--n-features", "0"], "--n-features"),
    (["fit", "X", "--plot", "p.png"], "unrecognized"),
    ([], "COMMAND"),
])
def test_usage_errors_exit_2_with_one_line(files, capsys, argv, frag):
    argv = [files["reg"] if a == "X" else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, err, 2, frag)
    assert out == ""


def test_unknown_plot_type_is_a_usage_error(files, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, err = run(capsys, "path", files["reg"], "--plot", tmp_path / "p.xyz")
    assert_one_line_error(code, err, 2, "image type")


def test_ctrl_c_exits_130_with_one_line(files, capsys, monkeypatch):
    def interrupted(self, X, y, sample_weight=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(fastsparse.Lasso, "fit", interrupted)
    code, out, err = run(capsys, "fit", files["reg"], "--alpha", 1e-3)
    assert code == 130 and out == ""
    assert err.strip() == "fastsparse: interrupted"


def test_internal_errors_keep_their_traceback(files, capsys, monkeypatch):
    # A bug (here a TypeError inside the fit) must not be disguised as a user error.
    def broken(self, X, y, sample_weight=None):
        raise TypeError("a bug")

    monkeypatch.setattr(fastsparse.Lasso, "fit", broken)
    with pytest.raises(TypeError, match="a bug"):
        cli.main(["fit", files["reg"], "--alpha", "1e-3"])


def test_json_is_strict():
    doc = _output._dumps({"a": float("nan"), "b": [np.float32(np.inf), np.int64(3)],
                          "c": np.array([1.5, -np.inf]), "d": np.bool_(True)})
    assert json.loads(doc, parse_constant=_reject) == {
        "a": None, "b": [None, 3], "c": [1.5, None], "d": True}


def test_help_shows_worked_examples(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "fastsparse generate data.svm" in out
    assert "fastsparse select data.svm --n-features 20" in out
    for command in ("fit", "path", "cv", "select", "generate"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "example:" in out
        assert f"fastsparse {command} " in out.split("example:")[1]


def test_main_module_dispatch(monkeypatch):
    import fastsparse.__main__ as entry
    import fastsparse.demo

    calls = []
    monkeypatch.setattr(fastsparse.demo, "main", lambda argv=None: calls.append(
        ("demo", argv)) or 0)
    monkeypatch.setattr(cli, "main", lambda argv=None: calls.append(("cli", argv)) or 0)
    assert entry.main([]) == 0
    assert entry.main(["--preset", "small"]) == 0
    assert entry.main(["fit", "x.svm"]) == 0
    assert calls == [("demo", []), ("demo", ["--preset", "small"]),
                     ("cli", ["fit", "x.svm"])]
    monkeypatch.undo()
    # `fastsparse demo ...` hands its options to the demo.
    calls.clear()
    monkeypatch.setattr(fastsparse.demo, "main", lambda argv=None: calls.append(argv) or 0)
    assert cli.main(["demo", "--preset", "small", "--ratio", "5"]) == 0
    assert calls == [["--preset", "small", "--ratio", "5"]]


# --------------------------------------------------------------------------------------
# Real processes (each costs an interpreter start plus the import: keep them few)
# --------------------------------------------------------------------------------------


def _proc(argv, cwd=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=cwd)


def test_subprocess_python_m_fit_and_error(files, tmp_path):
    proc = _proc([sys.executable, "-m", "fastsparse", "select", files["reg"],
                  "--n-features", "4"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_selected"] == 4
    proc = _proc([sys.executable, "-m", "fastsparse", "fit", str(tmp_path / "missing.svm"),
                  "--output", str(tmp_path / "out.json")])
    assert_one_line_error(proc.returncode, proc.stderr, 1, "missing.svm")
    assert proc.stdout == "" and not list(tmp_path.iterdir())


def test_console_script(files):
    exe = shutil.which("fastsparse", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("console script not installed (pip install -e . creates it)")
    proc = _proc([exe, "--help"])
    assert proc.returncode == 0
    assert "fastsparse select data.svm --n-features 20" in proc.stdout
    proc = _proc([exe, "fit", files["reg"], "--alpha", "-1"])
    assert_one_line_error(proc.returncode, proc.stderr, 2, "--alpha")


def test_python_m_fastsparse_without_arguments_runs_the_demo(tmp_path):
    proc = _proc([sys.executable, "-m", "fastsparse"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dual gap" in proc.stdout and "Lasso" in proc.stdout
