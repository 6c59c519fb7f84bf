"""Poisson regression with per-row offsets and course-clustered standard errors (plain numpy).

Small parameter counts (tens), many rows: Newton's method converges in a handful of steps and
gives the Hessian that the sandwich covariance needs.
"""

from __future__ import annotations

import numpy as np


def fit_poisson(
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    *,
    ridge: float = 1e-8,
    max_iter: int = 50,
    tol: float = 1e-9,
) -> np.ndarray:
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        eta = np.clip(X @ beta + offset, -30, 30)
        mu = np.exp(eta)
        gradient = X.T @ (y - mu) - ridge * beta
        hessian = (X * mu[:, None]).T @ X + ridge * np.eye(X.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < tol:
            break
    return beta


def cluster_covariance(
    X: np.ndarray, y: np.ndarray, mu: np.ndarray, clusters: np.ndarray, *, within: bool = True
) -> np.ndarray:
    """Cluster-robust sandwich covariance of Poisson coefficients.

    With ``within``, regressors are demeaned inside each cluster (weighted by mu) first, which is
    the covariance of the coefficients once the cluster fixed effects are concentrated out.
    """
    codes, inverse = np.unique(clusters, return_inverse=True)
    if within:
        weight_sum = np.bincount(inverse, weights=mu, minlength=len(codes))
        means = (
            np.vstack(
                [np.bincount(inverse, weights=mu * X[:, j], minlength=len(codes)) for j in range(X.shape[1])]
            ).T
            / np.maximum(weight_sum, 1e-12)[:, None]
        )
        X = X - means[inverse]
    bread = np.linalg.pinv((X * mu[:, None]).T @ X)
    scores = X * (y - mu)[:, None]
    summed = np.zeros((len(codes), X.shape[1]))
    np.add.at(summed, inverse, scores)
    g = len(codes)
    meat = summed.T @ summed * (g / max(g - 1, 1))
    return bread @ meat @ bread


def unit_deviance(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Each row's Poisson deviance (its mean is ``poisson_deviance``)."""
    mu = np.maximum(mu, 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return 2 * (term - (y - mu))


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    return float(np.mean(unit_deviance(y, mu)))


def _within(X: np.ndarray, weights: np.ndarray, inverse: np.ndarray, n_groups: int) -> np.ndarray:
    total = np.maximum(np.bincount(inverse, weights=weights, minlength=n_groups), 1e-300)
    means = (
        np.vstack(
            [np.bincount(inverse, weights=weights * X[:, j], minlength=n_groups) for j in range(X.shape[1])]
        ).T
        / total[:, None]
    )
    return X - means[inverse]


def _group_levels(shape: np.ndarray, y_sum: np.ndarray, inverse: np.ndarray, n_groups: int) -> np.ndarray:
    """Each group's level given the rest of the model: its counts over its expected counts at level 1."""
    return y_sum / np.maximum(np.bincount(inverse, weights=shape, minlength=n_groups), 1e-300)


def fit_poisson_fixed_effects(
    X: np.ndarray,
    y: np.ndarray,
    exposure: np.ndarray,
    groups: np.ndarray,
    *,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson regression with one fixed effect per group (PPML), by Newton on the concentrated
    likelihood: given the coefficients, each group's level has a closed form, and the Hessian is
    that of the regressors demeaned within groups. ``X`` must not hold a constant column.

    Returns (coefficients, group codes, group levels).
    """
    codes, inverse = np.unique(groups, return_inverse=True)
    n_groups = len(codes)
    y_sum = np.bincount(inverse, weights=y, minlength=n_groups)
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        shape = np.exp(np.clip(X @ beta, -30, 30)) * exposure
        level = _group_levels(shape, y_sum, inverse, n_groups)
        mu = level[inverse] * shape
        gradient = X.T @ (y - mu)
        Xw = _within(X, mu, inverse, n_groups)
        hessian = (Xw * mu[:, None]).T @ Xw + 1e-9 * np.eye(X.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    shape = np.exp(np.clip(X @ beta, -30, 30)) * exposure
    level = _group_levels(shape, y_sum, inverse, n_groups)
    return beta, codes, level


def fit_scaled_poisson_fixed_effects(
    P: np.ndarray,
    C: np.ndarray,
    z: np.ndarray,
    y: np.ndarray,
    exposure: np.ndarray,
    groups: np.ndarray,
    *,
    max_iter: int = 50,
    tol: float = 1e-8,
    gamma_bounds: tuple[float, float] = (-0.5, 0.5),
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """FE-PPML where the price terms ``P`` are scaled by ``1 + gamma z`` for one shared gamma:
    log mu = group level + (1 + gamma z) P beta + C delta.

    One parameter lets the price response of every category grow or shrink in proportion with a
    course's demand level ``z`` (Gauss-Newton on the concentrated likelihood, started from
    gamma = 0: ``start`` is the plain FE-PPML fit of ``[P, C]`` when the caller has it, else it is
    fitted here). Returns (beta, delta, gamma, group codes, group levels).
    """
    codes, inverse = np.unique(groups, return_inverse=True)
    n_groups = len(codes)
    y_sum = np.bincount(inverse, weights=y, minlength=n_groups)
    if start is None:
        start, _, _ = fit_poisson_fixed_effects(np.column_stack([P, C]), y, exposure, groups)
    k = P.shape[1]
    theta = np.append(start, 0.0)
    for _ in range(max_iter):
        beta, delta, gamma = theta[:k], theta[k:-1], theta[-1]
        scale = 1 + gamma * z
        price_part = P @ beta
        shape = np.exp(np.clip(scale * price_part + C @ delta, -30, 30)) * exposure
        level = _group_levels(shape, y_sum, inverse, n_groups)
        mu = level[inverse] * shape
        J = np.column_stack([P * scale[:, None], C, z * price_part])
        gradient = J.T @ (y - mu)
        Jw = _within(J, mu, inverse, n_groups)
        hessian = (Jw * mu[:, None]).T @ Jw + 1e-9 * np.eye(J.shape[1])
        step = np.linalg.solve(hessian, gradient)
        theta = theta + step
        theta[-1] = float(np.clip(theta[-1], *gamma_bounds))
        if np.max(np.abs(step)) < tol:
            break
    beta, delta, gamma = theta[:k], theta[k:-1], float(theta[-1])
    shape = np.exp(np.clip((1 + gamma * z) * (P @ beta) + C @ delta, -30, 30)) * exposure
    level = _group_levels(shape, y_sum, inverse, n_groups)
    return beta, delta, gamma, codes, level
