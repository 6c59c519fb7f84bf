"""Metrics, per-category elasticities with intervals, truth comparison and the selection rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from pricing.ml.demand import (
    DemandModel,
    GAMDemand,
    PolynomialLogPrice,
    RandomForestDemand,
    add_model_columns,
)
from pricing.ml.glm import poisson_deviance

Z_95 = 1.959963984540054
# Simpler models win ties: order of preference when scores are equal.
# Fewest parameters first; semi-log before log-log (same count, and an interior revenue optimum).
SIMPLICITY = ["semilog", "linear", "poly2", "poly3", "gam", "gradient_boosting", "random_forest"]


def holdout_metrics(model: DemandModel, test: pd.DataFrame) -> dict:
    y = test["enrollments"].to_numpy(dtype=float)
    mu = model.predict(test)
    residual = y - mu
    total = np.sum((y - y.mean()) ** 2)
    # Weeks priced more than 5% away from the course's usual price: where the price response shows.
    frame = add_model_columns(test, model.categories)
    moved = np.abs(model.centered(frame, frame["log_price"].to_numpy())) > 0.05
    return {
        "poisson_deviance": poisson_deviance(y, mu),
        "price_move_deviance": poisson_deviance(y[moved], mu[moved]) if moved.any() else float("nan"),
        "price_move_rows": int(moved.sum()),
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": float(1 - np.sum(residual**2) / total) if total > 0 else 0.0,
        "rows": int(len(y)),
    }


def current_rows(panel: pd.DataFrame, current_price: pd.Series) -> pd.DataFrame:
    """Each course's latest week, at its current price: the state pricing decisions start from."""
    latest = panel.sort_values("week").groupby("course_id", observed=True).tail(1).copy()
    latest["price"] = latest["course_id"].map(current_price).astype(float)
    latest["log_price"] = np.log(latest["price"])
    latest["exposure_days"] = 7
    return latest.reset_index(drop=True)


def _category_means(values: np.ndarray, categories: pd.Series) -> pd.Series:
    return pd.Series(values).groupby(categories.astype(str).to_numpy()).mean()


def category_elasticities(
    model: DemandModel,
    rows: pd.DataFrame,
    *,
    bootstrap_panel: pd.DataFrame | None = None,
    bootstrap_reps: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean per-course elasticity at current prices, per category, with a 95% interval."""
    estimate = _category_means(model.elasticity(rows), rows["category"])
    lower, upper, method = _intervals(model, rows, estimate, bootstrap_panel, bootstrap_reps, seed)
    counts = rows["category"].astype(str).value_counts()
    return pd.DataFrame(
        {
            "category": estimate.index,
            "elasticity": estimate.to_numpy(),
            "lower": lower.reindex(estimate.index).to_numpy(),
            "upper": upper.reindex(estimate.index).to_numpy(),
            "courses": counts.reindex(estimate.index).to_numpy(),
            "interval": method,
        }
    )


def _intervals(model, rows, estimate, panel, reps, seed):
    categories = rows["category"].astype(str)
    if isinstance(model, PolynomialLogPrice):
        frame = add_model_columns(rows, model.categories)
        gradient, covariance = model.elasticity_uncertainty(frame, frame["log_price"].to_numpy())
        mean_gradient = pd.DataFrame(gradient).groupby(categories.to_numpy()).mean()
        se = np.sqrt(np.einsum("ij,jk,ik->i", mean_gradient.to_numpy(), covariance, mean_gradient.to_numpy()))
        se = pd.Series(se, index=mean_gradient.index)
        return estimate - Z_95 * se, estimate + Z_95 * se, "delta method, course-clustered"
    if isinstance(model, GAMDemand):
        se = _gam_standard_errors(model, rows)
        return estimate - Z_95 * se, estimate + Z_95 * se, "delta method on the GAM coefficients"
    if isinstance(model, RandomForestDemand):
        per_tree = []
        frame = add_model_columns(rows, model.categories)
        h = model.finite_difference
        log_price = frame["log_price"].to_numpy()
        up, down = model.features(frame, log_price + h), model.features(frame, log_price - h)
        for tree in model.estimator.estimators_:
            e = (
                np.log(np.maximum(tree.predict(up), 1e-9)) - np.log(np.maximum(tree.predict(down), 1e-9))
            ) / (2 * h)
            per_tree.append(_category_means(e, categories))
        spread = pd.concat(per_tree, axis=1)
        se = spread.std(axis=1) / np.sqrt(spread.shape[1])
        return estimate - Z_95 * se, estimate + Z_95 * se, "spread across trees"
    if reps > 0 and panel is not None:
        rng = np.random.default_rng(seed)
        draws = []
        course_ids = panel["course_id"].unique()
        for _ in range(reps):
            chosen = rng.choice(course_ids, size=len(course_ids), replace=True)
            sample = panel.set_index("course_id").loc[chosen].reset_index()
            refit = model.bootstrap_copy(seed).fit(sample, effects=model.effects)
            draws.append(_category_means(refit.elasticity(rows), categories))
        spread = pd.concat(draws, axis=1)
        return (
            spread.quantile(0.025, axis=1),
            spread.quantile(0.975, axis=1),
            f"course bootstrap ({reps} refits)",
        )
    nan = pd.Series(np.nan, index=estimate.index)
    return nan, nan, "none"


def _gam_standard_errors(model: GAMDemand, rows: pd.DataFrame) -> pd.Series:
    frame = add_model_columns(rows, model.categories)
    x = model.centered(frame, frame["log_price"].to_numpy())
    cat_index = pd.Categorical(frame["category"].astype(str), categories=model.categories).codes
    h = 0.02
    inside = np.clip(x, model.x_range[0] + h, model.x_range[1] - h)
    up = model.gam._modelmat(model._gam_design(inside + h, cat_index))
    down = model.gam._modelmat(model._gam_design(inside - h, cat_index))
    derivative = sparse.csr_matrix((up - down) / (2 * h))
    cov = model.gam.statistics_["cov"]
    result = {}
    for code, category in enumerate(model.categories):
        member = cat_index == code
        if not member.any():
            continue
        g = np.asarray(derivative[member].mean(axis=0)).ravel()
        result[category] = float(np.sqrt(max(g @ cov @ g, 0.0)))
    return pd.Series(result)


@dataclass
class CurveGrid:
    """The true curves near each course's current price, prepared once for every model."""

    merged: pd.DataFrame  # one row per course and grid price within 0.5x-2x of the current price
    true: np.ndarray  # true 30-day enrollments at the grid price
    true_current: np.ndarray  # true 30-day enrollments at the course's current price
    rows: pd.DataFrame  # one row per course, at its current price
    row_of: np.ndarray  # for each grid row, its course's position in ``rows``


def curve_grid(rows: pd.DataFrame, truth_curves: pd.DataFrame) -> CurveGrid:
    """``truth_curves``: course_id, price, expected_enrollments_30d (the truth's price grid)."""
    merged = truth_curves.merge(rows, on="course_id", suffixes=("_grid", ""))
    near = (merged["price_grid"] >= 0.5 * merged["price"]) & (merged["price_grid"] <= 2 * merged["price"])
    merged = merged[near].reset_index(drop=True)
    true = merged["expected_enrollments_30d"].to_numpy()
    # The true curve at each course's current price, interpolated on the log-log grid.
    log_price = np.log(merged["price_grid"].to_numpy())
    log_true = np.log(np.maximum(true, 1e-12))
    current = np.log(merged["price"].to_numpy())
    true_current = np.empty(len(merged))
    for index in merged.groupby("course_id").indices.values():
        order = index[np.argsort(log_price[index])]
        true_current[index] = np.exp(np.interp(current[order[0]], log_price[order], log_true[order]))
    row_of = pd.Index(rows["course_id"]).get_indexer(merged["course_id"])
    return CurveGrid(merged=merged, true=true, true_current=true_current, rows=rows, row_of=row_of)


def demand_curve_error(model: DemandModel, grid: CurveGrid) -> dict:
    """Compare predicted 30-day enrollments with the true curve on the truth's price grid.

    Prices within 0.5x-2x of the current price are compared (where pricing decisions live).
    Reports the median over courses of the mean absolute log ratio, for levels and for shapes
    (both curves scaled to 1 at the current price).
    """
    merged, true, true_current = grid.merged, grid.true, grid.true_current
    predicted = model.predict_weekly(merged, merged["price_grid"].to_numpy()) * 30 / 7
    at_current = (model.predict_weekly(grid.rows) * 30 / 7)[grid.row_of]
    eps = 1e-6
    level = np.abs(np.log((predicted + eps) / (true + eps)))
    shape = np.abs(np.log(((predicted + eps) / (at_current + eps)) / ((true + eps) / (true_current + eps))))
    per_course = pd.DataFrame({"course_id": merged["course_id"].to_numpy(), "level": level, "shape": shape})
    means = per_course.groupby("course_id").mean()
    return {
        "curve_level_error_median": float(means["level"].median()),
        "curve_shape_error_median": float(means["shape"].median()),
        "courses": int(len(means)),
    }


@dataclass
class PairedDeviances:
    """Each model's per-row Poisson deviance on the same held-out rows, and each row's course:
    what deciding whether two models really differ needs."""

    values: dict[str, np.ndarray]
    courses: np.ndarray


def tied_ranks(paired: PairedDeviances, names: list[str], *, z: float = 2.0) -> pd.Series:
    """Rank 1 for the best model and every model within ``z`` standard errors of it (the error of
    the mean paired difference, clustered by course); the others rank after them by deviance.

    Held-out deviances of the parametric models often differ in the fourth decimal: ordering them
    by such differences would pick a model by noise.
    """
    means = {n: float(np.mean(paired.values[n])) for n in names}
    best = min(names, key=means.get)
    _, inverse = np.unique(paired.courses, return_inverse=True)
    groups = inverse.max() + 1
    tied = set()
    for name in names:
        difference = paired.values[name] - paired.values[best]
        per_course = np.bincount(inverse, weights=difference, minlength=groups)
        se = np.sqrt(groups * per_course.var(ddof=1)) / len(difference) if groups > 1 else 0.0
        if np.mean(difference) <= z * se:
            tied.add(name)
    others = sorted((n for n in names if n not in tied), key=means.get)
    ranks = {n: 1.0 for n in tied}
    ranks.update({n: 2.0 + i for i, n in enumerate(others)})
    return pd.Series(ranks)


def select_model(
    candidates: dict[str, dict], paired: dict[str, PairedDeviances] | None = None
) -> tuple[str, str]:
    """Pick the production model from held-out evidence only (never from the simulator's truth).

    1. A model is eligible only if every category's elasticity is negative (demand falls with
       price).
    2. Among eligible models, rank by held-out Poisson deviance on the last weeks, on those of the
       last weeks whose price was more than 5% from the course's usual price (the price response a
       pricing decision relies on), and on courses it never saw (course-grouped cross-validation);
       with ``paired`` per-row deviances, models within two course-clustered standard errors of
       the best share its rank. The lowest mean rank wins.
    3. Ties go to the model with fewer parameters; at equal count to the semi-log, whose revenue
       curve has an interior optimum (the log-log model's constant elasticity sends the price of
       every elastic course to a bound).
    """
    eligible = {
        name: c for name, c in candidates.items() if all(e < 0 for e in c["category_elasticities"].values())
    }
    if not eligible:
        raise ValueError("No model estimated a negative elasticity in every category.")
    names = list(eligible)

    def rank(values: dict[str, float]) -> pd.Series:
        # A metric a model could not compute (NaN) ranks last.
        return pd.Series(values).astype(float).fillna(np.inf).rank(method="min")

    metrics = {
        "holdout": {n: eligible[n]["holdout"]["poisson_deviance"] for n in names},
        "price_move": {n: eligible[n]["holdout"].get("price_move_deviance", np.nan) for n in names},
        "course_cv": {n: eligible[n]["course_cv"]["poisson_deviance"] for n in names},
    }
    ranks = [
        tied_ranks(paired[key], names) if paired and key in paired else rank(values)
        for key, values in metrics.items()
    ]
    score = sum(r.reindex(names) for r in ranks) / len(ranks)
    best = min(names, key=lambda n: (score[n], SIMPLICITY.index(n) if n in SIMPLICITY else 99))
    rule = (
        "Eligible: negative elasticity in every category. Winner: lowest mean rank of three held-out Poisson "
        "deviances: the last weeks, the last weeks priced more than 5% from the course's usual price (the "
        "price response), and courses never seen in training (course-grouped CV); models within two "
        "course-clustered standard errors of the best share its rank. Ties go to the model with fewer "
        "parameters and, at equal count, to the semi-log (its revenue curve has an interior optimum)."
    )
    return best, rule
