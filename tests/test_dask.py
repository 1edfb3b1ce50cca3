"""The Dask recipe of docs/dask.md: CV folds, l1_ratio grids and stability-selection
subsamples spread over a dask.distributed cluster by ``joblib.parallel_config(backend=
"dask")``, with results identical to the local (threaded) run.

The estimators ask joblib for ``prefer="threads"``, a soft hint: an active
``parallel_config(backend="dask")`` overrides it. The task stream of the scheduler shows
that the work really ran on the cluster's worker processes.
"""

import numpy as np
import pytest
import scipy.sparse as sp

distributed = pytest.importorskip(
    "dask.distributed",
    reason="dask.distributed is not installed (pip install 'fastsparse[dask]')")
joblib = pytest.importorskip("joblib")

from fastsparse import (  # noqa: E402
    ElasticNetCV,
    LassoCV,
    LogisticRegressionCV,
    StabilitySelection,
)


@pytest.fixture(scope="module")
def client():
    # Context managers close the client and the worker processes even when a test fails.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def _problem(seed=0, n=150, p=200):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.08, format="csc", random_state=rng,
                  data_rvs=lambda m: rng.uniform(0.2, 2.0, m))
    w = np.zeros(p)
    w[:8] = rng.choice([-2.0, 2.0], 8)
    y = X @ w + 1.0 + 0.3 * rng.standard_normal(n)
    return X, y


def _run_on_cluster(client, fit):
    """Run ``fit()`` under the dask backend; return its result and the task keys."""
    with distributed.get_task_stream(client) as ts:
        with joblib.parallel_config(backend="dask"):
            out = fit()
    keys = " ".join(str(t["key"]) for t in ts.data)
    workers = {t["worker"] for t in ts.data}
    return out, keys, workers


def test_lasso_cv_folds_run_on_the_cluster(client):
    X, y = _problem()
    local = LassoCV(n_alphas=15, cv=4, n_jobs=2, tol=1e-8).fit(X, y)
    remote, keys, workers = _run_on_cluster(
        client, lambda: LassoCV(n_alphas=15, cv=4, tol=1e-8).fit(X, y))
    assert "_fold_path_mse" in keys  # the folds were tasks of the scheduler
    assert workers <= set(client.scheduler_info()["workers"]) and workers
    assert remote.alpha_ == local.alpha_
    np.testing.assert_allclose(remote.mse_path_, local.mse_path_, rtol=1e-10, atol=0)
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-10, atol=1e-14)


def test_elastic_net_cv_l1_ratio_grid_on_the_cluster(client):
    X, y = _problem(seed=1)
    kw = dict(l1_ratio=[0.3, 0.7, 1.0], n_alphas=10, cv=3, tol=1e-8)
    local = ElasticNetCV(**kw).fit(X, y)
    remote, keys, _ = _run_on_cluster(client, lambda: ElasticNetCV(**kw).fit(X, y))
    assert "_fold_path_mse" in keys
    assert remote.alpha_ == local.alpha_ and remote.l1_ratio_ == local.l1_ratio_
    assert remote.mse_path_.shape == (3, 10, 3)
    np.testing.assert_allclose(remote.mse_path_, local.mse_path_, rtol=1e-10, atol=0)


def test_logistic_regression_cv_folds_on_the_cluster(client):
    X, y = _problem(seed=2)
    yc = (y > np.median(y)).astype(int)
    local = LogisticRegressionCV(Cs=5, cv=3, tol=1e-8).fit(X, yc)
    remote, keys, _ = _run_on_cluster(
        client, lambda: LogisticRegressionCV(Cs=5, cv=3, tol=1e-8).fit(X, yc))
    assert "_fold_path" in keys
    np.testing.assert_array_equal(remote.C_, local.C_)
    np.testing.assert_allclose(remote.scores_, local.scores_, rtol=1e-10, atol=0)


def test_stability_selection_subsamples_on_the_cluster(client):
    X, y = _problem(seed=3)
    kw = dict(n_bootstrap=6, n_alphas=10, random_state=0)
    local = StabilitySelection(n_jobs=2, **kw).fit(X, y)
    remote, keys, workers = _run_on_cluster(
        client, lambda: StabilitySelection(**kw).fit(X, y))
    assert "_subsample_support" in keys and workers
    assert (remote.selection_frequencies_ != local.selection_frequencies_).nnz == 0
    np.testing.assert_array_equal(remote.support_, local.support_)
    assert remote.q_ == local.q_


def test_without_the_dask_backend_nothing_runs_on_the_cluster(client):
    """The converse check: the task stream is empty under the default backend, so the
    assertions above really detect work done by the cluster."""
    X, y = _problem()
    with distributed.get_task_stream(client) as ts:
        LassoCV(n_alphas=5, cv=3, n_jobs=2).fit(X, y)
    assert len(ts.data) == 0
