"""Pricing strategies (elasticity, competitive, lifecycle, time-based, bundles) as explained
adjustments on top of the model's optimum.

Each strategy proposes a price and says why; an active strategy with weight w moves the
recommendation w of the way from the model's optimum toward its proposal. The elasticity-based
strategy is the model's optimum itself. Bundles do not move a course's own price: they are
offered beside it (``pricing.ml.bundles``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np

from pricing.ml.elasticity import demand_type


@dataclass(frozen=True)
class Adjustment:
    strategy: str
    active: bool
    weight: float | None  # None: offered beside the price (bundles), never moves it
    proposed_price: float | None
    explanation: str

    def as_dict(self) -> dict:
        return asdict(self)


def elasticity_strategy(*, optimum: float, current: float, elasticity: float) -> Adjustment:
    kind = demand_type(elasticity).lower()
    direction = "lower" if optimum < current else "higher" if optimum > current else "the same"
    why = (
        f"Demand is {kind} at {current:.0f} tokens (elasticity {elasticity:.2f}): "
        + (
            "a lower price wins more enrollments than it gives up per sale"
            if kind == "elastic"
            else "enrollments fall less than the price rises"
        )
        + f", so the revenue-maximising price is {direction} ({optimum:.0f} tokens)."
    )
    return Adjustment("elasticity", True, 1.0, optimum, why)


def competitive_strategy(
    *, optimum: float, category_average: float, active: bool, weight: float
) -> Adjustment:
    gap = (optimum / category_average - 1) * 100
    why = (
        f"The category's average price is {category_average:.0f} tokens; the optimum is {gap:+.0f}% from it."
    )
    return Adjustment("competitive", active, weight, category_average, why)


def lifecycle_strategy(*, optimum: float, age_weeks: float, active: bool, weight: float) -> Adjustment:
    if age_weeks < 8:
        stage, factor = "new", 0.9
        why = "A new course: an introductory price 10% under the optimum builds reviews and enrollments."
    elif age_weeks < 26:
        stage, factor = "growing", 1.0
        why = "A growing course: keep the optimum."
    else:
        stage, factor = "mature", 1.05
        why = "A mature course with a track record: up to 5% over the optimum."
    return Adjustment(f"lifecycle ({stage})", active, weight, optimum * factor, why)


PEAK_MONTHS = {1: 1.05, 9: 1.05}
QUIET_MONTHS = {7: 0.95, 8: 0.95, 12: 0.95}


def time_based_strategy(*, optimum: float, today: date, active: bool, weight: float) -> Adjustment:
    factor = PEAK_MONTHS.get(today.month) or QUIET_MONTHS.get(today.month) or 1.0
    if factor > 1:
        why = "Peak season for learning (January, September): up to 5% over the optimum."
    elif factor < 1:
        why = "A quiet month: a 5% promotion under the optimum."
    else:
        why = "No seasonal window this month."
    return Adjustment("time-based", active, weight, optimum * factor, why)


def bundle_strategy(*, bundle: dict | None, active: bool) -> Adjustment:
    """A bundle offered beside the course's own price (``pricing.ml.bundles``)."""
    if bundle is None:
        why = (
            "No bundle: no course is taken together with this one often enough, or no bundle discount "
            "would raise expected revenue."
        )
    else:
        why = (
            f"Often taken with {bundle['partner_code']} ({bundle['together']} learners took both): the two "
            f"together at {bundle['discount']:.0%} off ({bundle['bundle_price']:.0f} tokens instead of "
            f"{bundle['full_price']:.0f}) are expected to add {bundle['gain_30d']:.0f} tokens of revenue "
            "per 30 days."
        )
    return Adjustment("bundle", active, None, None, why)


def combine(optimum: float, adjustments: list[Adjustment], low: float, high: float) -> float:
    price = optimum + sum(
        a.weight * (a.proposed_price - optimum)
        for a in adjustments
        if a.active and a.strategy != "elasticity" and a.proposed_price is not None
    )
    return float(np.clip(round(price), np.ceil(low), np.floor(high)))
