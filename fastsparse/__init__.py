"""fastsparse: certified L1, L2 and elastic-net linear models on huge sparse data.

Coordinate descent in Numba on the CSC arrays of scipy.sparse matrices, with Gap Safe
screening, working sets and a duality gap that certifies every solution.
"""

from . import _numba_cache

# First, before any kernel module is imported: Numba picks a function's cache locator
# when @njit(cache=True) decorates it.
_numba_cache.install()

from .cv import ElasticNetCV, LassoCV
from .linear_model import ElasticNet, Lasso
from .logistic import LogisticRegression, logistic_c_min, logistic_path
from .logistic_cv import LogisticRegressionCV
from .ridge import Ridge, RidgeCV
from .path import PathResult, alpha_grid, enet_path, lasso_path
from .selection import SelectionResult, StabilitySelection, select_features

__all__ = [
    "Ridge", "RidgeCV",
    "ElasticNet", "ElasticNetCV", "Lasso", "LassoCV", "PathResult", "alpha_grid",
    "enet_path", "lasso_path",
    "LogisticRegression", "logistic_c_min", "logistic_path",
    "LogisticRegressionCV",
    "SelectionResult", "StabilitySelection", "select_features",
]
__version__ = "0.1.0.dev0"
