"""``get_support`` for every fitted linear estimator of fastsparse.

One implementation shared by the L1, L2 and elastic-net regressors and the logistic
classifiers, so that "which features does this model use?" has one answer everywhere:
the features with a coefficient that is exactly non-zero.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._validation import check_bool_param

__all__ = ["SupportMixin"]


class SupportMixin:
    """Mixin adding :meth:`get_support` to an estimator with a ``coef_`` attribute.

    A feature is selected when its coefficient is non-zero; when ``coef_`` has one row
    per target or per class (shape ``(k, n_features)``), when it is non-zero in *any*
    row. With an L1 penalty (Lasso, elastic net, L1 logistic regression) this is the
    model's sparse support. An L2 penalty (Ridge, RidgeCV, logistic regression with
    ``l1_ratio=0``) shrinks coefficients but never sets them to zero, so such models
    keep every feature: their mask is all True except for coefficients that are exactly
    zero (e.g. columns that are entirely zero in the training data). That is the L1 vs
    L2 difference in one line; use an L1 model, :func:`fastsparse.select_features` or
    :class:`fastsparse.StabilitySelection` to select features.

    Put it before the scikit-learn base classes in the bases of a class, e.g.
    ``class Lasso(SupportMixin, RegressorMixin, BaseEstimator)``.
    """

    def get_support(self, indices=False):
        """Features with a non-zero coefficient (in any row of ``coef_``).

        Parameters
        ----------
        indices : bool, default=False
            Return the integer indices of the selected features instead of a boolean
            mask.

        Returns
        -------
        support : ndarray
            Boolean mask of shape (n_features,) when ``indices=False``, else the sorted
            int64 indices of the selected features.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator has not been fitted.
        """
        check_is_fitted(self)
        indices = check_bool_param(indices, "indices")
        coef = np.asarray(self.coef_)
        mask = coef != 0
        if mask.ndim == 2:
            # Multi-target / one-vs-rest: a feature any row uses is a feature the model
            # needs to predict.
            mask = mask.any(axis=0)
        mask = mask.ravel()
        return np.flatnonzero(mask).astype(np.int64, copy=False) if indices else mask
