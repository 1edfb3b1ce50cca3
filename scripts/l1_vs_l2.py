#!/usr/bin/env python
"""Lasso vs Ridge vs ElasticNet on one sparse problem with groups of correlated columns.

The problem (:func:`make_correlated_problem`, deterministic for a seed): ``n_groups``
latent sparse signals, each observed through ``group_size`` noisy copies (the same
rows with slightly perturbed values, a few entries dropped), plus pure-noise sparse
columns. y depends on the latent signals only, so within a group every copy is equally
"right" and the copies are strongly correlated (about 0.9).

For each model, with alpha chosen by cross-validation on the training rows
(``LassoCV``, ``ElasticNetCV(l1_ratio=0.5)``, ``RidgeCV`` leave-one-out), the script
reports:

- the number of non-zero coefficients (Ridge: all; also how many carry 1% of the largest);
- the weight spread within groups: the share of each informative group's total
  |coefficient| carried by its largest member (1 = one copy takes everything, the L1
  behaviour; 1/group_size = evenly spread, the L2 behaviour);
- selection stability under bootstrap resampling of the training rows (resamples are
  fits with multinomial sample weights: no copy of X): the mean pairwise Jaccard index of
  the selected sets (non-zeros; for Ridge the top-k by |w| with k the number of
  informative columns) and how often the informative columns are selected;
- held-out error (MSE and R^2 on a test split).

``--plot PNG`` draws the three coefficient paths side by side, each informative group in
its own colour. Runs in well under a minute::

    python scripts/l1_vs_l2.py --plot l1_vs_l2.png
"""

import argparse
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

from fastsparse import ElasticNet, ElasticNetCV, Lasso, LassoCV, Ridge, RidgeCV
from fastsparse import enet_path, lasso_path


def make_correlated_problem(n_samples=1000, n_groups=10, group_size=5, n_noise=450,
                            density=0.05, copy_noise=0.05, drop=0.05, noise=0.5,
                            seed=0):
    """Sparse design with groups of correlated columns and a target driven by the groups.

    Parameters
    ----------
    n_samples : int
    n_groups : int
        Number of latent signals, each behind ``group_size`` columns.
    group_size : int
        Noisy copies per latent signal.
    n_noise : int
        Extra columns unrelated to y.
    density : float
        Fraction of non-zero rows of every latent signal and noise column.
    copy_noise : float
        Relative noise on the values of a copy (values multiplied by 1 + copy_noise * N).
    drop : float
        Fraction of the latent non-zeros a copy drops.
    noise : float
        Standard deviation of the noise on y.
    seed : int

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_samples, n_groups * group_size + n_noise)
    y : ndarray of shape (n_samples,)
    groups : ndarray of int of shape (n_features,)
        Group of each column (-1 for noise columns). Group g holds the columns
        ``g * group_size ... (g + 1) * group_size - 1``.
    """
    rng = np.random.default_rng(seed)
    latent = sp.random(n_samples, n_groups, density=density, format="csc",
                       random_state=rng, data_rvs=lambda k: rng.uniform(0.5, 1.5, k))
    columns = []
    for g in range(n_groups):
        rows = latent.indices[latent.indptr[g]:latent.indptr[g + 1]]
        vals = latent.data[latent.indptr[g]:latent.indptr[g + 1]]
        for _ in range(group_size):
            keep = rng.random(rows.size) >= drop
            v = vals[keep] * (1.0 + copy_noise * rng.standard_normal(keep.sum()))
            columns.append(sp.csc_matrix((v, (rows[keep], np.zeros(keep.sum(), int))),
                                         shape=(n_samples, 1)))
    noise_cols = sp.random(n_samples, n_noise, density=density, format="csc",
                           random_state=rng, data_rvs=lambda k: rng.uniform(0.5, 1.5, k))
    X = sp.hstack(columns + [noise_cols], format="csc")
    X.sort_indices()
    beta = rng.choice([-1.0, 1.0], n_groups) * rng.uniform(1.0, 3.0, n_groups)
    y = latent @ beta + 1.0 + noise * rng.standard_normal(n_samples)
    groups = np.concatenate([np.repeat(np.arange(n_groups), group_size),
                             np.full(n_noise, -1)])
    return X, y, groups


def selected(coef, k_ridge=None):
    """Selected set: the non-zeros, or the top ``k_ridge`` by |coef| (Ridge)."""
    if k_ridge is None:
        return frozenset(np.flatnonzero(coef).tolist())
    return frozenset(np.argsort(-np.abs(coef), kind="stable")[:k_ridge].tolist())


def mean_jaccard(sets):
    """Mean pairwise Jaccard index |A & B| / |A | B| of a list of sets (1 if both empty)."""
    vals = []
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            union = len(sets[i] | sets[j])
            vals.append(len(sets[i] & sets[j]) / union if union else 1.0)
    return float(np.mean(vals))


def top_share(coef, groups):
    """Mean over informative groups of (largest |w| in the group) / (sum of |w| in it)."""
    shares = []
    for g in np.unique(groups[groups >= 0]):
        w = np.abs(coef[groups == g])
        if w.sum() > 0:
            shares.append(w.max() / w.sum())
    return float(np.mean(shares)) if shares else float("nan")


def fit_models(X, y):
    """The three models with alpha chosen by cross-validation on (X, y)."""
    cv_models = {
        "Lasso": LassoCV(n_alphas=40, cv=5, tol=1e-6),
        "ElasticNet": ElasticNetCV(l1_ratio=0.5, n_alphas=40, cv=5, tol=1e-6),
        "Ridge": RidgeCV(alphas=np.logspace(-2, 3, 26)),
    }
    return {name: m.fit(X, y) for name, m in cv_models.items()}


def refit(name, alpha, X, y, sample_weight=None):
    """One fit of a model at a fixed alpha (used by the bootstrap)."""
    if name == "Lasso":
        model = Lasso(alpha=alpha, tol=1e-6)
    elif name == "ElasticNet":
        model = ElasticNet(alpha=alpha, l1_ratio=0.5, tol=1e-6)
    else:
        model = Ridge(alpha=alpha, tol=1e-6)
    return model.fit(X, y, sample_weight=sample_weight)


def bootstrap(name, alpha, X, y, n_boot, k_ridge, informative, seed):
    """Selected sets over bootstrap resamples (multinomial weights, no copy of X)."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    sets, freq = [], np.zeros(X.shape[1])
    for _ in range(n_boot):
        w = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
        coef = refit(name, alpha, X, y, sample_weight=w).coef_
        s = selected(coef, k_ridge if name == "Ridge" else None)
        sets.append(s)
        freq[list(s)] += 1
    freq /= n_boot
    inf = freq[informative]
    return dict(jaccard=mean_jaccard(sets), freq_informative_mean=float(inf.mean()),
                always=int(np.sum(inf >= 0.9)), rarely=int(np.sum(inf <= 0.1)))


def ridge_path(X, y, alphas):
    """Ridge coefficients (n_features, n_alphas), largest alpha first, warm-free fits."""
    return np.column_stack([Ridge(alpha=a, tol=1e-6).fit(X, y).coef_ for a in alphas])


def plot_paths(X, y, groups, fitted, path):
    """Three coefficient paths side by side, informative groups coloured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lasso_alphas, lasso_coefs, _ = lasso_path(X, y, n_alphas=60, eps=1e-3)
    enet_alphas, enet_coefs, _ = enet_path(X, y, l1_ratio=0.5, n_alphas=60, eps=1e-3)
    ridge_alphas = np.logspace(3, -2, 40)
    ridge_coefs = ridge_path(X, y, ridge_alphas)
    panels = [("Lasso (L1)", lasso_alphas, lasso_coefs, fitted["Lasso"].alpha_),
              ("ElasticNet (l1_ratio=0.5)", enet_alphas, enet_coefs,
               fitted["ElasticNet"].alpha_),
              ("Ridge (L2)", ridge_alphas, ridge_coefs, fitted["Ridge"].alpha_)]
    colors = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for ax, (title, alphas, coefs, chosen) in zip(axes, panels):
        coefs = coefs.toarray() if sp.issparse(coefs) else np.asarray(coefs)
        for j in np.flatnonzero(groups < 0):
            ax.plot(alphas, coefs[j], color="0.8", lw=0.5, zorder=1)
        for j in np.flatnonzero(groups >= 0):
            ax.plot(alphas, coefs[j], color=colors(groups[j] % 10), lw=1.2, zorder=2)
        ax.axvline(chosen, color="k", ls=":", lw=1, label="alpha chosen by CV")
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("alpha (decreasing)")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("coefficient (one colour per group of correlated copies; "
                       "grey: noise)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--n-groups", type=int, default=10)
    parser.add_argument("--group-size", type=int, default=5)
    parser.add_argument("--n-noise", type=int, default=450)
    parser.add_argument("--bootstrap", type=int, default=30,
                        help="bootstrap resamples for the stability (default: 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PNG", help="save the three coefficient paths")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X, y, groups = make_correlated_problem(args.n_samples, args.n_groups, args.group_size,
                                           args.n_noise, seed=args.seed)
    informative = np.flatnonzero(groups >= 0)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(X.shape[0])
    n_train = int(0.75 * X.shape[0])
    train, test = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    X_train, X_test = X[train], X[test]
    y_train, y_test = y[train], y[test]
    g0 = X[:, groups == 0].toarray()
    corr = np.corrcoef(g0.T)[np.triu_indices(args.group_size, 1)].mean()
    print(f"Problem: {X.shape[0]} x {X.shape[1]} sparse (nnz {X.nnz}), {args.n_groups} "
          f"groups of {args.group_size} correlated copies (mean within-group correlation "
          f"{corr:.2f}) + {args.n_noise} noise columns; train {n_train}, test "
          f"{X.shape[0] - n_train}, seed {args.seed}.\n")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of loose CV fits
        fitted = fit_models(X_train, y_train)
        k = informative.size
        rows = []
        for name, model in fitted.items():
            coef = np.asarray(model.coef_)
            pred = model.predict(X_test)
            mse = float(np.mean((y_test - pred) ** 2))
            r2 = 1.0 - mse / float(np.var(y_test))
            stab = bootstrap(name, model.alpha_, X_train, y_train, args.bootstrap, k,
                             informative, args.seed + 1)
            nnz = int(np.count_nonzero(coef))
            big = int(np.sum(np.abs(coef) >= 0.01 * np.abs(coef).max()))
            groups_hit = len({int(groups[j]) for j in np.flatnonzero(coef)
                              if groups[j] >= 0})
            rows.append((name, model.alpha_, nnz, big, groups_hit, top_share(coef, groups),
                         stab, mse, r2))

    header = ("| model | alpha (CV) | non-zeros | >= 1% of max | groups hit | "
              "top share in group | bootstrap Jaccard | informative sel. freq. | "
              "informative always / rarely selected | test MSE | test R^2 |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, alpha, nnz, big, hit, share, stab, mse, r2 in rows:
        print(f"| {name} | {alpha:.3g} | {nnz} | {big} | {hit}/{args.n_groups} | "
              f"{share:.2f} | {stab['jaccard']:.2f} | {stab['freq_informative_mean']:.2f} | "
              f"{stab['always']} / {stab['rarely']} of {k} | {mse:.3f} | {r2:.3f} |")
    print(f"\n(top share 1 = one copy carries the group's whole weight; "
          f"{1 / args.group_size:.2f} = evenly spread. Ridge's selected set is its top "
          f"{k} |w|; bootstrap: {args.bootstrap} resamples of the training rows as "
          "multinomial sample weights.)")
    if args.plot:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plot_paths(X_train, y_train, groups, fitted, args.plot)
        print(f"Paths written to {args.plot}")
    print(f"Total time {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
