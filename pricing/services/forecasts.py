"""Forecasts on the production demand model that store nothing: enrollments and revenue at given
prices (the what-if slider, the predict API), the demand curve with its bands, and one course's
optimisation (the optimize API)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings

from pricing.errors import NotAdvisable
from pricing.ml.elasticity import DemandType, demand_type
from pricing.ml.optimizer import Z_95, expected_enrollments_at, objective_values
from pricing.selectors import pricing_settings
from pricing.services.advice import commission_rate, elasticity_se, recommend_rows
from pricing.services.model_source import ProductionDemand, course_rows, production_demand
from tokenecon.models import Course
from tokenecon.services.rates import tokens_to_money

NEW_COURSE_ID = -1  # no course has it: the model treats the row as a course it never saw
CURVE_POINTS = 61  # prices on a course's demand and revenue curves


def _rows_of(demand: ProductionDemand, course: Course) -> pd.DataFrame:
    rows = course_rows(demand, [course.pk])
    if rows.empty:
        raise NotAdvisable(
            f"The demand model has no data on {course.code} yet; it is advised after the next training."
        )
    return rows


def what_if(*, course: Course, prices: list[float], demand: ProductionDemand | None = None) -> pd.DataFrame:
    """Predicted enrollments, revenue and teacher earnings per 30 days at each price (the slider)."""
    demand = demand or production_demand()
    return _price_table(demand, _rows_of(demand, course), prices)


def change_pct(new: float, old: float) -> float:
    """The change from ``old`` to ``new`` in percent (0 when there was nothing before)."""
    return (new / old - 1) * 100 if old > 0 else 0.0


@dataclass(frozen=True)
class WhatIf:
    """One price on the slider against today's price, per 30 days."""

    price: int
    enrollments: float
    revenue: float
    earnings: float  # the teacher's, after commission
    elasticity: float
    enrollments_change_pct: float
    revenue_change_pct: float
    earnings_change: float  # tokens against today's price
    # 95% intervals, as the curves' bands draw them
    enrollments_low: float = float("nan")
    enrollments_high: float = float("nan")
    revenue_low: float = float("nan")
    revenue_high: float = float("nan")

    @property
    def earnings_money(self) -> Decimal:
        return tokens_to_money(int(round(self.earnings)))


def what_if_at(*, course: Course, price: int, demand: ProductionDemand | None = None) -> WhatIf:
    """What the course is expected to sell and earn at ``price`` compared with its price today,
    with the 95% intervals the demand and revenue curves draw."""
    both = demand_curve(course=course, prices=[float(course.price_tokens), float(price)], demand=demand)
    now, then = both.iloc[0], both.iloc[1]
    return WhatIf(
        price=price,
        enrollments=float(then["expected_enrollments"]),
        revenue=float(then["expected_revenue"]),
        earnings=float(then["teacher_earnings"]),
        elasticity=float(then["elasticity"]),
        enrollments_change_pct=change_pct(then["expected_enrollments"], now["expected_enrollments"]),
        revenue_change_pct=change_pct(then["expected_revenue"], now["expected_revenue"]),
        earnings_change=float(then["teacher_earnings"] - now["teacher_earnings"]),
        enrollments_low=float(then["enrollments_low"]),
        enrollments_high=float(then["enrollments_high"]),
        revenue_low=float(then["revenue_low"]),
        revenue_high=float(then["revenue_high"]),
    )


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
    enrollments = expected_enrollments_at(demand.artifact.model, rows, grid)[0]
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


def price_range(course: Course) -> tuple[int, int]:
    """The prices a teacher explores (the slider and the curves): half to twice today's price,
    inside the platform's price bounds."""
    low = max(settings.TOKEN_PRICE_MIN, int(course.price_tokens * 0.5))
    high = min(settings.TOKEN_PRICE_MAX, int(np.ceil(course.price_tokens * 2.0)))
    return low, max(high, low + 1)


def course_curve(
    *, course: Course, recommended_price: int | None, demand: ProductionDemand | None = None
) -> pd.DataFrame:
    """``demand_curve`` over the course's ``price_range``, through today's and the advised price."""
    low, high = price_range(course)
    marks = [course.price_tokens] + ([recommended_price] if recommended_price is not None else [])
    grid = np.unique(np.round(np.concatenate([np.linspace(low, high, CURVE_POINTS), marks])))
    return demand_curve(course=course, prices=grid.tolist(), demand=demand)


def demand_curve(
    *, course: Course, prices: list[float], demand: ProductionDemand | None = None
) -> pd.DataFrame:
    """``what_if`` over a price grid plus 95% bands on expected enrollments and revenue.

    The bands follow ``add_intervals``: the course's demand level is known to about
    1/sqrt(enrollments to date) on the log scale, and the price effect to the category
    elasticity's interval times the size of the move from today's price.
    """
    demand = demand or production_demand()
    rows = _rows_of(demand, course)  # read once: the slider asks for this on every move
    curve = _price_table(demand, rows, prices)
    enrollments_to_date = float(np.expm1(rows["log_enrollments_to_date"].iloc[0]))
    se_elasticity = float(elasticity_se(demand, rows)[0])
    move = np.abs(np.log(curve["price"].to_numpy() / float(course.price_tokens)))
    se = np.sqrt(1.0 / max(enrollments_to_date, 1.0) + (move * se_elasticity) ** 2)
    curve["enrollments_low"] = curve["expected_enrollments"] * np.exp(-Z_95 * se)
    curve["enrollments_high"] = curve["expected_enrollments"] * np.exp(Z_95 * se)
    curve["revenue_low"] = curve["enrollments_low"] * curve["price"]
    curve["revenue_high"] = curve["enrollments_high"] * curve["price"]
    return curve


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class CourseOptimisation:
    """One course's recommended price with what it is expected to change, per 30 days."""

    course_code: str
    objective: str
    current_price: float
    recommended_price: float  # guardrails and strategies applied
    model_optimal_price: float  # the model's optimum before strategies
    price_change_pct: float
    expected_enrollments_current: float
    expected_enrollments_recommended: float
    enrollment_change_pct: float
    expected_revenue_current: float  # gross tokens
    expected_revenue_recommended: float
    revenue_increase: float  # tokens
    revenue_change_pct: float
    teacher_earnings_current: float
    teacher_earnings_recommended: float
    elasticity_current: float
    demand_type: DemandType
    confidence: str
    reason: str
    enrollments_current_interval: Interval  # 95%
    enrollments_recommended_interval: Interval
    revenue_change_pct_interval: Interval
    bounds: Interval  # the price range the guardrails allowed
    model_version: int
    model_algorithm: str
    demand_scale: float  # how the model's demand level was rescaled to the given enrollments


def optimise_course(
    *,
    course: Course,
    objective: str | None = None,
    current_price: float | None = None,
    current_enrollments: float | None = None,
    demand: ProductionDemand | None = None,
) -> CourseOptimisation:
    """One course's recommendation (the API's optimize call), optionally from another starting price
    and with the model's demand level rescaled so that it predicts ``current_enrollments`` per 30
    days at the starting price."""
    config = pricing_settings()
    demand = demand or production_demand()
    rows = _rows_of(demand, course)
    if current_price is not None:
        rows["price"] = float(current_price)
        rows["log_price"] = np.log(rows["price"])
    r = recommend_rows(
        rows,
        demand=demand,
        config=config,
        objective=objective or config.objective,
        guardrails_on=True,
        today=None,
        bundles={},  # the answer has no strategy breakdown; stored advice has the bundle
    ).iloc[0]
    scale = 1.0
    if current_enrollments is not None and r["expected_enrollments_current"] > 0:
        scale = float(current_enrollments) / float(r["expected_enrollments_current"])

    def scaled(column: str) -> float:
        return float(r[column]) * scale

    enrollments_now, enrollments_then = (
        scaled("expected_enrollments_current"),
        scaled("expected_enrollments_recommended"),
    )
    revenue_now, revenue_then = scaled("expected_revenue_current"), scaled("expected_revenue_recommended")
    return CourseOptimisation(
        course_code=course.code,
        objective=r["objective"],
        current_price=float(r["current_price"]),
        recommended_price=float(r["recommended_price"]),
        model_optimal_price=float(r["model_optimal_price"]),
        price_change_pct=(r["recommended_price"] / r["current_price"] - 1) * 100,
        expected_enrollments_current=enrollments_now,
        expected_enrollments_recommended=enrollments_then,
        enrollment_change_pct=change_pct(enrollments_then, enrollments_now),
        expected_revenue_current=revenue_now,
        expected_revenue_recommended=revenue_then,
        revenue_increase=revenue_then - revenue_now,
        revenue_change_pct=float(r["revenue_change_pct"]),
        teacher_earnings_current=scaled("teacher_earnings_current"),
        teacher_earnings_recommended=scaled("teacher_earnings_recommended"),
        elasticity_current=float(r["elasticity_current"]),
        demand_type=demand_type(r["elasticity_current"]),
        confidence=r["confidence"],
        reason=r["reason"],
        enrollments_current_interval=Interval(
            scaled("enrollments_current_low"), scaled("enrollments_current_high")
        ),
        enrollments_recommended_interval=Interval(
            scaled("enrollments_recommended_low"), scaled("enrollments_recommended_high")
        ),
        revenue_change_pct_interval=Interval(
            float(r["revenue_change_pct_low"]), float(r["revenue_change_pct_high"])
        ),
        bounds=Interval(float(r["lower_bound"]), float(r["upper_bound"])),
        model_version=int(r["model_version"]),
        model_algorithm=r["model_algorithm"],
        demand_scale=scale,
    )
