"""Shared fixtures and the ``--runslow`` switch for the slow test job."""

import numpy as np
import pytest
import scipy.sparse as sp


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


def make_regression_problem(n_samples=60, n_features=80, density=0.2, n_informative=8,
                            noise=0.1, seed=0, offset=3.0):
    """A small sparse regression problem with a known sparse truth and a non-zero mean.

    The offset in y and the positive values in X make the intercept matter, so lazy
    centering is exercised.
    """
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=density, format="csc",
                  random_state=rng, data_rvs=lambda k: rng.uniform(0.1, 2.0, k))
    w = np.zeros(n_features)
    support = rng.choice(n_features, n_informative, replace=False)
    w[support] = rng.standard_normal(n_informative) * 2
    y = X @ w + offset + noise * rng.standard_normal(n_samples)
    return X, y


@pytest.fixture
def problem():
    return make_regression_problem()
