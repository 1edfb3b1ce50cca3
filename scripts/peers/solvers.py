"""Solvers."""

import importlib.util

#: Module that must be importable for each solver.
SOLVER_MODULES = {
    "fastsparse": "fastsparse",
    "sklearn": "sklearn",
    "skglm": "skglm",
    "celer": "celer",
}

#: Solvers of ``--path``: every single-fit solver, plus glmnet (the glmnet-rs port of R
#: glmnet's C++ core), which only ``--path`` compares (no single-alpha estimator here).
PATH_SOLVER_MODULES = {**SOLVER_MODULES, "glmnet": "glmnetrs"}

#: Default tolerance ladder, loose to tight, shared by all solvers.
DEFAULT_TOLS = tuple(10.0 ** -k for k in range(2, 13))


def installed_solvers(path=False):
    """Solvers whose package can be imported here, in display order (with ``path``, the
    solvers of ``--path``: :data:`PATH_SOLVER_MODULES`)."""
    modules = PATH_SOLVER_MODULES if path else SOLVER_MODULES
    return [name for name, module in modules.items()
            if importlib.util.find_spec(module) is not None]


def make_estimator(solver, model, alpha, l1_ratio, fit_intercept, tol):
    """Build a solver's estimator for one rung of the ladder.

    Parameters
    ----------
    solver : {"fastsparse", "sklearn", "skglm", "celer"}
        Which library.
    model : {"lasso", "enet"}
        Lasso or elastic net.
    alpha, l1_ratio : float
        Penalty, with the scikit-learn parametrization (all four libraries share it).
    fit_intercept : bool
        Whether to fit an intercept.
    tol : float
        The solver's own tolerance parameter.

    Returns
    -------
    estimator : object
        Unfitted estimator with a scikit-learn ``fit`` method.

    Notes
    -----
    Iteration caps are raised far above the defaults so that only ``tol`` decides when a
    solver stops; the ladder and ``--timeout`` bound the work instead.
    """
    kwargs = dict(alpha=alpha, tol=tol, fit_intercept=fit_intercept)
    if model == "enet":
        kwargs["l1_ratio"] = l1_ratio
    if solver == "fastsparse":
        import fastsparse as lib
        kwargs["max_iter"] = 10_000  # outer working-set iterations
    elif solver == "sklearn":
        import sklearn.linear_model as lib
        kwargs["max_iter"] = 10**6  # epochs over all features
    elif solver == "skglm":
        import skglm as lib
        kwargs["max_iter"] = 10_000  # outer working-set iterations
    elif solver == "celer":
        import celer as lib
        kwargs["max_iter"] = 10_000  # outer working-set iterations
    else:
        raise ValueError(f"unknown solver {solver!r}; choose from {sorted(SOLVER_MODULES)}")
    cls = lib.Lasso if model == "lasso" else lib.ElasticNet
    return cls(**kwargs)
