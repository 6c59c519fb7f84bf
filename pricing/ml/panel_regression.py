"""Elasticity from any panel of prices and quantities: log-log OLS with absorbed fixed effects,
or Poisson (PPML) with unit fixed effects, with classical or unit-clustered standard errors.

Fixed effects are absorbed by alternating projections (exact for one-way and, at convergence,
two-way designs), so the coefficients and classical standard errors are those of OLS with one
dummy per unit and period; ``tests/pricing/test_panel_regression.py`` checks them against
statsmodels to four decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pricing.ml.glm import cluster_covariance, fit_poisson, fit_poisson_fixed_effects


class PanelSpecError(ValueError):
    pass


@dataclass
class ElasticityEstimate:
    model: str
    elasticity: float
    std_error: float
    ci_low: float
    ci_high: float
    n_obs: int
    n_dropped: int
    r2: float | None
    r2_within: float | None
    df_resid: int
    coefficients: dict[str, float]
    covariance: str


def _demean(
    matrix: np.ndarray, groups: list[np.ndarray], *, tol: float = 1e-13, max_iter: int = 10_000
) -> np.ndarray:
    result = matrix.astype(float).copy()
    encoded = [np.unique(g, return_inverse=True)[1] for g in groups]
    for _ in range(max_iter):
        change = 0.0
        for inverse in encoded:
            counts = np.bincount(inverse)
            means = np.vstack([np.bincount(inverse, weights=result[:, j]) for j in range(result.shape[1])]).T
            means /= counts[:, None]
            result -= means[inverse]
            change = max(change, float(np.max(np.abs(means))) if means.size else 0.0)
        if len(encoded) < 2 or change < tol:
            break
    return result


def _absorbed_df(frame: pd.DataFrame, effects: list[str]) -> int:
    """Parameters the fixed effects use (units + periods - 1 for a connected two-way panel)."""
    if not effects:
        return 1  # the intercept
    levels = sum(frame[e].nunique() for e in effects)
    return levels - (len(effects) - 1)


def validate(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PanelSpecError(
            f"Columns not in the file: {', '.join(missing)}. Columns present: {', '.join(frame.columns)}"
        )


def estimate_elasticity(
    frame: pd.DataFrame,
    *,
    unit: str,
    period: str,
    price: str,
    quantity: str,
    controls: list[str] | None = None,
    fixed_effects: list[str] | None = None,
    model: str = "linear",
    covariance: str = "classical",
) -> ElasticityEstimate:
    controls = controls or []
    effects_names = fixed_effects if fixed_effects is not None else ["unit", "period"]
    mapping = {"unit": unit, "period": period}
    unknown = [e for e in effects_names if e not in mapping]
    if unknown:
        raise PanelSpecError(f"--fixed-effects takes unit and/or period, not {', '.join(unknown)}")
    effects = [mapping[e] for e in effects_names]
    validate(frame, [unit, period, price, quantity, *controls])
    data = frame[[unit, period, price, quantity, *controls]].copy()
    for column in [price, quantity, *controls]:
        data[column] = pd.to_numeric(data[column], errors="coerce")
    before = len(data)
    data = data.dropna()
    data = data[data[price] > 0]
    if model == "linear":
        data = data[data[quantity] > 0]  # log Q needs Q > 0: those rows are dropped and counted
    dropped = before - len(data)
    if len(data) < 3:
        raise PanelSpecError("Fewer than three usable rows (positive price and quantity, no blanks).")
    log_price = np.log(data[price].to_numpy())
    if model == "linear":
        return _ols(data, log_price, quantity, controls, effects, unit, covariance, dropped)
    if model == "poisson":
        return _ppml(data, log_price, quantity, controls, effects, unit, period, covariance, dropped)
    raise PanelSpecError(f"Unknown model {model!r}: choose linear or poisson.")


def _ols(data, log_price, quantity, controls, effects, unit, covariance, dropped) -> ElasticityEstimate:
    y = np.log(data[quantity].to_numpy())
    X = np.column_stack([log_price, *[data[c].to_numpy(dtype=float) for c in controls]])
    names = ["log_price", *controls]
    if effects:
        groups = [data[e].to_numpy() for e in effects]
        stacked = _demean(np.column_stack([y, X]), groups)
        y_t, X_t = stacked[:, 0], stacked[:, 1:]
    else:
        X_t = np.column_stack([X, np.ones(len(y))])
        y_t = y
        names = [*names, "const"]
    beta, *_ = np.linalg.lstsq(X_t, y_t, rcond=None)
    residual = y_t - X_t @ beta
    n = len(y)
    absorbed = _absorbed_df(data, effects) if effects else 0
    df_resid = n - X_t.shape[1] - absorbed
    if df_resid <= 0:
        raise PanelSpecError("No residual degrees of freedom: too few rows for these fixed effects.")
    xtx_inv = np.linalg.pinv(X_t.T @ X_t)
    if covariance == "cluster":
        codes, inverse = np.unique(data[unit].to_numpy(), return_inverse=True)
        scores = np.zeros((len(codes), X_t.shape[1]))
        np.add.at(scores, inverse, X_t * residual[:, None])
        g = len(codes)
        k = X_t.shape[1] + absorbed
        factor = g / (g - 1) * (n - 1) / (n - k)
        cov = factor * xtx_inv @ (scores.T @ scores) @ xtx_inv
        t_df = g - 1
    else:
        cov = xtx_inv * (residual @ residual) / df_resid
        t_df = df_resid
    se = float(np.sqrt(cov[0, 0]))
    t = stats.t.ppf(0.975, t_df)
    total = np.sum((y - y.mean()) ** 2)
    within_total = np.sum((y_t - y_t.mean()) ** 2)
    return ElasticityEstimate(
        model="linear log-log OLS",
        elasticity=float(beta[0]),
        std_error=se,
        ci_low=float(beta[0] - t * se),
        ci_high=float(beta[0] + t * se),
        n_obs=n,
        n_dropped=dropped,
        r2=float(1 - residual @ residual / total) if total > 0 else None,
        r2_within=float(1 - residual @ residual / within_total) if effects and within_total > 0 else None,
        df_resid=int(df_resid),
        coefficients=dict(zip(names, map(float, beta), strict=False)),
        covariance=covariance,
    )


def _ppml(
    data, log_price, quantity, controls, effects, unit, period, covariance, dropped
) -> ElasticityEstimate:
    y = data[quantity].to_numpy(dtype=float)
    columns = [log_price, *[data[c].to_numpy(dtype=float) for c in controls]]
    names = ["log_price", *controls]
    if period in effects:
        dummies = pd.get_dummies(data[period].astype(str), drop_first=True, dtype=float)
        columns.extend(dummies.to_numpy().T)
        names.extend(f"period[{c}]" for c in dummies.columns)
    X = np.column_stack(columns)
    groups = data[unit].to_numpy()
    if unit in effects:
        beta, codes, level = fit_poisson_fixed_effects(X, y, np.ones(len(y)), groups)
        mu = level[np.unique(groups, return_inverse=True)[1]] * np.exp(X @ beta)
        cov = cluster_covariance(X, y, mu, groups, within=True)
    else:
        X = np.column_stack([X, np.ones(len(y))])
        names.append("const")
        beta = fit_poisson(X, y, np.zeros(len(y)))
        mu = np.exp(X @ beta)
        cov = cluster_covariance(X, y, mu, groups, within=False)
    se = float(np.sqrt(cov[0, 0]))
    z = stats.norm.ppf(0.975)
    return ElasticityEstimate(
        model="Poisson PPML",
        elasticity=float(beta[0]),
        std_error=se,
        ci_low=float(beta[0] - z * se),
        ci_high=float(beta[0] + z * se),
        n_obs=len(y),
        n_dropped=dropped,
        r2=None,
        r2_within=None,
        df_resid=int(len(y) - len(beta)),
        coefficients=dict(zip(names, map(float, beta), strict=False)),
        covariance="cluster by unit",
    )
