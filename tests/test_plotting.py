"""Plotting: figures are produced (Agg backend); skipped when matplotlib is missing."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from fastsparse import ElasticNetCV, LassoCV, lasso_path
from fastsparse.plotting import plot_cv, plot_path

from conftest import make_regression_problem


@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_path_dense_and_sparse(plt):
    X, y = make_regression_problem(n_samples=40, n_features=30, seed=1)
    dense = lasso_path(X, y, n_alphas=20, coef_format="dense")
    ax = plot_path(dense.alphas, dense.coefs, n_labels=3)
    ever = int(np.count_nonzero(np.any(dense.coefs != 0, axis=1)))
    assert ever > 3
    assert len(ax.get_lines()) == ever + 1  # one per feature plus the zero line
    assert ax.get_xscale() == "log"
    assert len(ax.texts) == 3  # labelled top features
    ax.figure.canvas.draw()
    # Sparse coefficients and feature names, on a given Axes.
    sparse = lasso_path(X, y, n_alphas=20, coef_format="sparse")
    _, ax2 = plt.subplots()
    names = [f"f{j}" for j in range(30)]
    out = plot_path(sparse.alphas, sparse.coefs, feature_names=names, ax=ax2, n_labels=2)
    assert out is ax2 and len(ax2.get_lines()) == ever + 1
    assert all(t.get_text().startswith("f") for t in ax2.texts)
    for a, b in zip(ax.get_lines(), ax2.get_lines()):
        np.testing.assert_array_equal(a.get_ydata(), b.get_ydata())
    ax2.figure.canvas.draw()
    with pytest.raises(ValueError, match="columns"):
        plot_path(sparse.alphas[:3], sparse.coefs)
    # max_lines keeps huge paths drawable.
    ax3 = plot_path(sparse.alphas, sp.csc_matrix(sparse.coefs), max_lines=2, n_labels=0,
                    show_nonzero=False)
    assert len(ax3.get_lines()) == 3


@pytest.mark.parametrize("est", [LassoCV(n_alphas=8, cv=3),
                                 ElasticNetCV(l1_ratio=[0.5, 1.0], n_alphas=8, cv=3)])
def test_plot_cv(plt, est):
    X, y = make_regression_problem(n_samples=60, n_features=30, seed=2)
    est.fit(X, y)
    ax = plot_cv(est)
    vlines = [line.get_xdata()[0] for line in ax.get_lines()
              if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]]
    assert est.alpha_min_ in vlines and est.alpha_1se_ in vlines
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("alpha_1se" in t for t in labels) and any("(alpha_)" in t for t in labels)
    ax.figure.canvas.draw()
    with pytest.raises(ValueError, match="fitted"):
        plot_cv(LassoCV())


def test_non_bool_flags_are_refused(plt):
    X, y = make_regression_problem(n_samples=40, n_features=20, seed=3)
    path = lasso_path(X, y, n_alphas=5, coef_format="dense")
    with pytest.raises(TypeError, match="show_nonzero must be a bool"):
        plot_path(path.alphas, path.coefs, show_nonzero="no")
    est = LassoCV(n_alphas=5, cv=3).fit(X, y)
    with pytest.raises(TypeError, match="show_1se must be a bool"):
        plot_cv(est, show_1se="no")


def test_missing_matplotlib_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_path([1.0, 0.5], np.zeros((2, 2)))
