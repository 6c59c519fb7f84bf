"""Price advice: optimise the catalog on the production demand model, store recommendations,
and apply or dismiss them (an applied recommendation is a recorded price change)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pricing.ml.optimizer import Guardrails, add_intervals, objective_values, optimise_prices
from pricing.ml.strategies import (
    bundle_strategy,
    combine,
    competitive_strategy,
    demand_type,
    elasticity_strategy,
    lifecycle_strategy,
    time_based_strategy,
)
from pricing.models import PriceRecommendation, PricingSettings
from pricing.services.bundles import course_bundles
from pricing.services.model_source import ProductionDemand, course_rows, production_demand
from tokenecon.errors import TokenEconomyError
from tokenecon.models import Course, PriceChange, PriceChangeSource

Z_95 = 1.959963984540054


class PricingError(TokenEconomyError):
    pass


class NotAdvisable(TokenEconomyError):
    status_code = 409


def pricing_settings() -> PricingSettings:
    current, _ = PricingSettings.objects.get_or_create(pk=1)
    return current


def commission_rate() -> float:
    return float(settings.TOKEN_COMMISSION_RATE)


def guardrails(*, on: bool = True, config: PricingSettings | None = None) -> Guardrails:
    config = config or pricing_settings()
    return Guardrails(
        min_price=float(settings.TOKEN_PRICE_MIN),
        max_price=float(settings.TOKEN_PRICE_MAX),
        max_change_pct=float(config.max_change_pct) if on else None,
    )


def _elasticity_se(demand: ProductionDemand, rows: pd.DataFrame) -> np.ndarray:
    table = demand.artifact.category_elasticities.set_index("category")
    se = ((table["upper"] - table["lower"]) / (2 * Z_95)).fillna(0.3)
    return rows["category"].astype(str).map(se).fillna(0.3).to_numpy(dtype=float)


def optimise_catalog(
    *,
    course_ids: list[int] | None = None,
    objective: str | None = None,
    guardrails_on: bool = True,
    today: date | None = None,
    demand: ProductionDemand | None = None,
) -> pd.DataFrame:
    """Recommendations for many courses in a few vectorised model calls."""
    config = pricing_settings()
    demand = demand or production_demand()
    rows = course_rows(demand, course_ids)
    if rows.empty:
        return pd.DataFrame()
    return _recommend_rows(
        rows,
        demand=demand,
        config=config,
        objective=objective or config.objective,
        guardrails_on=guardrails_on,
        today=today,
    )


def _recommend_rows(
    rows: pd.DataFrame,
    *,
    demand: ProductionDemand,
    config: PricingSettings,
    objective: str,
    guardrails_on: bool,
    today: date | None,
    with_bundles: bool = True,
) -> pd.DataFrame:
    rate = commission_rate()
    rails = guardrails(on=guardrails_on, config=config)
    result = optimise_prices(
        demand.artifact.model,
        rows,
        guardrails=rails,
        objective=objective,
        commission_rate=rate,
        floors=rows["floor"].to_numpy(),
    )
    enrollments_to_date = np.expm1(rows["log_enrollments_to_date"].to_numpy(dtype=float))
    elasticity_se = _elasticity_se(demand, rows)
    result = add_intervals(result, enrollments_to_date=enrollments_to_date, elasticity_se=elasticity_se)
    today = today or timezone.now().date()
    bundles = course_bundles(rows, demand) if with_bundles and config.bundles_active else {}
    final_prices, breakdowns, confidences, reasons = [], [], [], []
    for i, row in rows.iterrows():
        r = result.iloc[i]
        optimum = float(r["recommended_price"])
        adjustments = [
            elasticity_strategy(
                optimum=optimum, current=r["current_price"], elasticity=r["elasticity_current"]
            ),
            competitive_strategy(
                optimum=optimum,
                category_average=float(np.exp(row["log_category_avg_price"])),
                active=config.competitive_active,
                weight=config.competitive_weight,
            ),
            lifecycle_strategy(
                optimum=optimum,
                age_weeks=float(row["course_age_weeks"]),
                active=config.lifecycle_active,
                weight=config.lifecycle_weight,
            ),
            time_based_strategy(
                optimum=optimum, today=today, active=config.time_based_active, weight=config.time_based_weight
            ),
            bundle_strategy(bundle=bundles.get(int(row["course_id"])), active=config.bundles_active),
        ]
        price = combine(optimum, adjustments, r["lower_bound"], r["upper_bound"])
        confidence, reason, price = _judge(r, price, enrollments_to_date[i], config, guardrails_on)
        final_prices.append(price)
        breakdowns.append([a.as_dict() for a in adjustments])
        confidences.append(confidence)
        reasons.append(reason)
    result["model_optimal_price"] = result["recommended_price"]
    result["recommended_price"] = final_prices
    result["strategies"] = breakdowns
    result["confidence"] = confidences
    result["reason"] = reasons
    result["code"] = rows["code"].to_numpy()
    result["category"] = rows["category"].astype(str).to_numpy()
    # Where caution kept the current price, the current price's figures apply; where strategies
    # moved the price elsewhere, evaluate the model there.
    kept = (result["recommended_price"] == result["current_price"]) & (
        result["recommended_price"] != result["model_optimal_price"]
    )
    for column in ("expected_enrollments", "elasticity", "expected_revenue"):
        result.loc[kept, f"{column}_recommended"] = result.loc[kept, f"{column}_current"]
    moved = (result["recommended_price"] != result["model_optimal_price"]) & ~kept
    if kept.any() and not moved.any():
        result = add_intervals(result, enrollments_to_date=enrollments_to_date, elasticity_se=elasticity_se)
    if moved.any():
        from pricing.ml.optimizer import _evaluate

        sub = rows[moved.to_numpy()]
        q = _evaluate(demand.artifact.model, sub, result.loc[moved, ["recommended_price"]].to_numpy())[:, 0]
        result.loc[moved, "expected_enrollments_recommended"] = q
        result.loc[moved, "expected_revenue_recommended"] = q * result.loc[moved, "recommended_price"]
        result.loc[moved, "elasticity_recommended"] = demand.artifact.model.elasticity(
            sub, result.loc[moved, "recommended_price"].to_numpy()
        )
        result = add_intervals(result, enrollments_to_date=enrollments_to_date, elasticity_se=elasticity_se)
    result["teacher_earnings_current"] = result["expected_revenue_current"] * (1 - rate)
    result["teacher_earnings_recommended"] = result["expected_revenue_recommended"] * (1 - rate)
    result["objective"] = objective
    result["model_version"] = demand.version
    result["model_algorithm"] = demand.algorithm
    return result


def _judge(
    r: pd.Series, price: float, enrollments_to_date: float, config: PricingSettings, cautious: bool
) -> tuple[str, str, float]:
    current = float(r["current_price"])
    if cautious and enrollments_to_date < config.min_enrollments_for_advice:
        return (
            "low",
            f"Too little history to advise a change ({enrollments_to_date:.0f} enrollments so far; "
            f"advice starts at {config.min_enrollments_for_advice}). Keep {current:.0f} tokens.",
            current,
        )
    if cautious and r["revenue_change_pct_low"] <= 0 < r["revenue_change_pct_high"] and price != current:
        return (
            "low",
            f"The model cannot tell a move to {price:.0f} tokens from keeping {current:.0f}: the "
            f"expected revenue change ({r['revenue_change_pct']:+.1f}%) is within its uncertainty "
            f"({r['revenue_change_pct_low']:+.1f}% to {r['revenue_change_pct_high']:+.1f}%). Keep the price.",
            current,
        )
    if price == current:
        return (
            "high",
            f"{current:.0f} tokens is already the best price within the guardrails "
            f"(elasticity {r['elasticity_current']:.2f}, {demand_type(r['elasticity_current'])}).",
            current,
        )
    change = (price / current - 1) * 100
    width = r["revenue_change_pct_high"] - r["revenue_change_pct_low"]
    confidence = "high" if width < 10 else "medium"
    kind = demand_type(r["elasticity_current"])
    reason = (
        f"Demand is {kind} at {current:.0f} tokens (elasticity {r['elasticity_current']:.2f}). "
        f"{'Lower' if change < 0 else 'Raise'} the price {abs(change):.0f}% to {price:.0f} tokens: expected "
        f"revenue {r['revenue_change_pct']:+.1f}% (95% interval {r['revenue_change_pct_low']:+.1f}% to "
        f"{r['revenue_change_pct_high']:+.1f}%)."
    )
    return confidence, reason, price


@transaction.atomic
def compute_recommendations(*, course_ids: list[int] | None = None) -> int:
    """Store a fresh pending recommendation for every course (the previous pending ones are superseded)."""
    result = optimise_catalog(course_ids=course_ids)
    if result.empty:
        return 0
    pending = PriceRecommendation.objects.filter(status=PriceRecommendation.Status.PENDING)
    if course_ids is not None:
        pending = pending.filter(course_id__in=course_ids)
    pending.update(status=PriceRecommendation.Status.SUPERSEDED)
    records = []
    for r in result.to_dict(orient="records"):
        records.append(
            PriceRecommendation(
                course_id=r["course_id"],
                model_version=r["model_version"],
                model_algorithm=r["model_algorithm"],
                objective=r["objective"],
                current_price_tokens=int(r["current_price"]),
                recommended_price_tokens=int(r["recommended_price"]),
                model_optimal_price_tokens=int(r["model_optimal_price"]),
                expected_enrollments_current=float(r["expected_enrollments_current"]),
                expected_enrollments_recommended=float(r["expected_enrollments_recommended"]),
                expected_revenue_current=float(r["expected_revenue_current"]),
                expected_revenue_recommended=float(r["expected_revenue_recommended"]),
                teacher_earnings_current=float(r["teacher_earnings_current"]),
                teacher_earnings_recommended=float(r["teacher_earnings_recommended"]),
                elasticity_current=float(r["elasticity_current"]),
                elasticity_recommended=float(r["elasticity_recommended"]),
                confidence=r["confidence"],
                reason=r["reason"],
                details={
                    "strategies": r["strategies"],
                    "bounds": [float(r["lower_bound"]), float(r["upper_bound"])],
                    "intervals": {
                        k: float(r[k])
                        for k in (
                            "enrollments_current_low",
                            "enrollments_current_high",
                            "enrollments_recommended_low",
                            "enrollments_recommended_high",
                            "revenue_change_pct",
                            "revenue_change_pct_low",
                            "revenue_change_pct_high",
                        )
                    },
                },
            )
        )
    PriceRecommendation.objects.bulk_create(records, batch_size=1000)
    return len(records)


def set_course_price(
    *, course: Course, new_price_tokens: int, approved_by, source: str, note: str = ""
) -> PriceChange:
    """Change a course's price within the platform bounds and the teacher's floor, and record it."""
    if (
        not isinstance(new_price_tokens, int)
        or new_price_tokens < settings.TOKEN_PRICE_MIN
        or new_price_tokens > settings.TOKEN_PRICE_MAX
    ):
        raise PricingError(
            f"The price must be a whole number of tokens between {settings.TOKEN_PRICE_MIN} and "
            f"{settings.TOKEN_PRICE_MAX}, got {new_price_tokens!r}."
        )
    with transaction.atomic():
        locked = Course.objects.select_for_update().get(pk=course.pk)
        if locked.price_floor_tokens and new_price_tokens < locked.price_floor_tokens:
            raise PricingError(
                f"{new_price_tokens} tokens is under the teacher's floor of "
                f"{locked.price_floor_tokens} tokens."
            )
        change = PriceChange.objects.create(
            course=locked,
            old_price_tokens=locked.price_tokens,
            new_price_tokens=new_price_tokens,
            effective_at=timezone.now(),
            source=source,
            approved_by=approved_by,
            note=note[:255],
        )
        Course.objects.filter(pk=locked.pk).update(price_tokens=new_price_tokens)
        course.price_tokens = new_price_tokens
    return change


def apply_recommendation(*, recommendation: PriceRecommendation, user) -> PriceChange:
    with transaction.atomic():
        locked = (
            PriceRecommendation.objects.select_for_update().select_related("course").get(pk=recommendation.pk)
        )
        if locked.status != PriceRecommendation.Status.PENDING:
            raise NotAdvisable(f"This recommendation is {locked.status}; only pending ones can be applied.")
        course = locked.course
        if course.price_tokens != locked.current_price_tokens:
            raise NotAdvisable(
                "The course's price changed since this advice was computed; recompute it first."
            )
        low, high = guardrails().bounds(
            np.array([float(course.price_tokens)]), np.array([float(course.price_floor_tokens or np.nan)])
        )
        if not (np.ceil(low[0]) <= locked.recommended_price_tokens <= np.floor(high[0])):
            raise NotAdvisable("The recommended price is outside today's guardrails.")
        change = set_course_price(
            course=course,
            new_price_tokens=locked.recommended_price_tokens,
            approved_by=user,
            source=PriceChangeSource.RECOMMENDATION,
            note=f"Recommendation {locked.pk} (model v{locked.model_version})",
        )
        locked.status = PriceRecommendation.Status.APPLIED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        recommendation.status = locked.status
    return change


def dismiss_recommendation(*, recommendation: PriceRecommendation, user) -> PriceRecommendation:
    with transaction.atomic():
        locked = PriceRecommendation.objects.select_for_update().get(pk=recommendation.pk)
        if locked.status != PriceRecommendation.Status.PENDING:
            raise NotAdvisable(f"This recommendation is {locked.status}; only pending ones can be dismissed.")
        locked.status = PriceRecommendation.Status.DISMISSED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked


def what_if(*, course: Course, prices: list[float], demand: ProductionDemand | None = None) -> pd.DataFrame:
    """Predicted enrollments, revenue and teacher earnings per 30 days at each price (the slider)."""
    demand = demand or production_demand()
    rows = course_rows(demand, [course.pk])
    if rows.empty:
        raise NotAdvisable(
            f"The demand model has no data on {course.code} yet; it is advised after the next training."
        )
    return _price_table(demand, rows, prices)


NEW_COURSE_ID = -1  # no course has it: the model treats the row as a course it never saw


def what_if_new_course(
    *, features: dict, prices: list[float], demand: ProductionDemand | None = None
) -> tuple[pd.DataFrame, float]:
    """``what_if`` for a course described by its features rather than one in the catalog.

    ``features``: category, difficulty, duration_hours, certificate_offered, teacher_quality,
    teacher_years, and optionally usual_price (the price the course is meant to sell at; the
    category's average price today when omitted) and course_age_weeks (0: just launched). The
    demand level comes from the model's cold-start regression on course facts, the price
    response from the category's; the season is that of the latest week the model saw.
    Returns the table and the usual price used.
    """
    demand = demand or production_demand()
    current = demand.artifact.current
    in_category = current[current["category"].astype(str) == features["category"]]
    if in_category.empty:
        raise NotAdvisable(f"The demand model has seen no course in {features['category']}.")
    usual_price = features.get("usual_price") or float(np.exp(np.log(in_category["price"]).mean()).round())
    row = in_category.sort_values("week").tail(1).copy()
    age = float(features.get("course_age_weeks") or 0)
    row = row.assign(
        course_id=NEW_COURSE_ID,
        category=features["category"],
        difficulty=features["difficulty"],
        duration_hours=float(features["duration_hours"]),
        certificate_offered=bool(features["certificate_offered"]),
        teacher_quality=float(features["teacher_quality"]),
        teacher_years=float(features["teacher_years"]),
        course_age_weeks=age,
        log_enrollments_to_date=0.0,
        log_lag_enrollments=0.0,
        rating_to_date=0.0,
        has_rating=0.0,
        price=float(usual_price),
        log_price=float(np.log(usual_price)),
    )
    if "log_category_avg_price" in row:
        row["log_rel_category_price"] = row["log_price"] - row["log_category_avg_price"]
    return _price_table(demand, row.reset_index(drop=True), prices), float(usual_price)


def _price_table(demand: ProductionDemand, rows: pd.DataFrame, prices: list[float]) -> pd.DataFrame:
    grid = np.asarray(prices, dtype=float)[None, :]
    from pricing.ml.optimizer import _evaluate

    enrollments = _evaluate(demand.artifact.model, rows, grid)[0]
    rate = commission_rate()
    revenue = grid[0] * enrollments
    return pd.DataFrame(
        {
            "price": grid[0],
            "expected_enrollments": enrollments,
            "expected_revenue": revenue,
            "teacher_earnings": revenue * (1 - rate),
            "platform_revenue": objective_values("revenue", grid[0], enrollments, rate),
            "elasticity": demand.artifact.model.elasticity(
                rows.iloc[np.zeros(len(grid[0]), dtype=int)].reset_index(drop=True), grid[0]
            ),
        }
    )


def demand_curve(
    *, course: Course, prices: list[float], demand: ProductionDemand | None = None
) -> pd.DataFrame:
    """``what_if`` over a price grid plus 95% bands on expected enrollments and revenue.

    The bands follow ``add_intervals``: the course's demand level is known to about
    1/sqrt(enrollments to date) on the log scale, and the price effect to the category
    elasticity's interval times the size of the move from today's price.
    """
    demand = demand or production_demand()
    curve = what_if(course=course, prices=prices, demand=demand)
    rows = course_rows(demand, [course.pk])
    enrollments_to_date = float(np.expm1(rows["log_enrollments_to_date"].iloc[0]))
    elasticity_se = float(_elasticity_se(demand, rows)[0])
    move = np.abs(np.log(curve["price"].to_numpy() / float(course.price_tokens)))
    se = np.sqrt(1.0 / max(enrollments_to_date, 1.0) + (move * elasticity_se) ** 2)
    curve["enrollments_low"] = curve["expected_enrollments"] * np.exp(-Z_95 * se)
    curve["enrollments_high"] = curve["expected_enrollments"] * np.exp(Z_95 * se)
    curve["revenue_low"] = curve["enrollments_low"] * curve["price"]
    curve["revenue_high"] = curve["enrollments_high"] * curve["price"]
    return curve


def optimise_course(
    *,
    course: Course,
    objective: str | None = None,
    current_price: float | None = None,
    current_enrollments: float | None = None,
    demand: ProductionDemand | None = None,
) -> dict:
    """One course's recommendation (the API's optimize call), optionally from another starting price
    and with the model's demand level rescaled so that it predicts ``current_enrollments`` per 30
    days at the starting price."""
    config = pricing_settings()
    demand = demand or production_demand()
    rows = course_rows(demand, [course.pk])
    if rows.empty:
        raise NotAdvisable(
            f"The demand model has no data on {course.code} yet; it is advised after the next training."
        )
    if current_price is not None:
        rows["price"] = float(current_price)
        rows["log_price"] = np.log(rows["price"])
    result = _recommend_rows(
        rows,
        demand=demand,
        config=config,
        objective=objective or config.objective,
        guardrails_on=True,
        today=None,
        with_bundles=False,  # the answer has no strategy breakdown; stored advice has the bundle
    ).iloc[0]
    out = result.to_dict()
    scale = 1.0
    if current_enrollments is not None and out["expected_enrollments_current"] > 0:
        scale = float(current_enrollments) / float(out["expected_enrollments_current"])
    for key in (
        "expected_enrollments_current",
        "expected_enrollments_recommended",
        "expected_revenue_current",
        "expected_revenue_recommended",
        "teacher_earnings_current",
        "teacher_earnings_recommended",
        "enrollments_current_low",
        "enrollments_current_high",
        "enrollments_recommended_low",
        "enrollments_recommended_high",
    ):
        out[key] = float(out[key]) * scale
    out["demand_scale"] = scale
    return out
