"""Shared fixtures and the ``--runslow`` switch for the slow test job."""

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis profiles (tests/test_properties.py). "ci" is the default run: 50 examples,
# derandomized (the same examples on every run, so a CI failure reproduces locally),
# no example database (nothing written into the checkout). "slow" is the profile of the
# tests marked slow (2000 examples per property, also derandomized). "explore" draws new
# random examples on every run, for hunting bugs locally. Select one with
# FASTSPARSE_HYPOTHESIS_PROFILE=<name>.
settings.register_profile(
    "ci", max_examples=50, deadline=None, database=None, derandomize=True,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("slow", settings.get_profile("ci"), max_examples=2000)
settings.register_profile("explore", settings.get_profile("slow"), derandomize=False)
settings.load_profile(os.environ.get("FASTSPARSE_HYPOTHESIS_PROFILE", "ci"))
# Hypothesis also caches data under ./.hypothesis; keep it out of the checkout.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "fastsparse-hypothesis")


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


def status_kb(field):
    """A memory field of /proc/self/status (e.g. "RssFile", "VmHWM") in kB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


@pytest.fixture
def problem():
    return make_regression_problem()


@pytest.fixture
def kernel_arrays(monkeypatch):
    """The (data, indices, indptr) of every problem object built for the kernels."""
    import fastsparse._ridge_solvers as RS
    import fastsparse.cv as cv
    import fastsparse.linear_model as lm
    import fastsparse.logistic as lg
    import fastsparse.path as path

    seen = []

    def wrap(module, name):
        real = getattr(module, name)

        def spy(*args, **kwargs):
            pb = real(*args, **kwargs)
            seen.append((pb.data, pb.indices, pb.indptr))
            return pb

        monkeypatch.setattr(module, name, spy)

    for module in (lm, path, cv):
        wrap(module, "prepare_problem")
    wrap(lg, "prepare_logistic")
    real_init = RS.RidgeData.__init__

    def ridge_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        seen.append((self.data, self.indices, self.indptr))

    monkeypatch.setattr(RS.RidgeData, "__init__", ridge_init)
    return seen
