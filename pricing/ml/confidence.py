"""How sure the price advice is, and the sentence that explains it to the teacher.

The optimiser proposes a price with a 95% interval on the revenue change; this module decides
whether that is advice worth acting on (``high``/``medium``), or whether the current price should be
kept because the course has too little history or the model cannot tell the move from keeping
the price (``low``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import pandas as pd

from pricing.ml.elasticity import demand_type

NARROW_INTERVAL_PCT = 10  # a revenue-change interval narrower than this many points is "high" confidence


class AdviceJudgement(NamedTuple):
    confidence: str  # "high", "medium" or "low"
    reason: str
    price: float  # the advised price: the current one wherever caution keeps it


def judge_advice(
    *,
    figures: pd.Series | Mapping[str, float],
    price: float,
    enrollments_to_date: float,
    min_enrollments_for_advice: int,
    cautious: bool,
) -> AdviceJudgement:
    """Judge moving a course from its current price to ``price``.

    ``figures`` is the optimiser's row for the course: ``current_price``, ``elasticity_current``
    and ``revenue_change_pct`` with its ``_low``/``_high`` 95% bounds. With ``cautious`` (the
    guardrails on), a course with fewer than ``min_enrollments_for_advice`` enrollments, or a move
    whose revenue change interval straddles zero, keeps its current price with low confidence.
    """
    current = float(figures["current_price"])
    elasticity = figures["elasticity_current"]
    change_pct, low_pct, high_pct = (
        figures["revenue_change_pct"],
        figures["revenue_change_pct_low"],
        figures["revenue_change_pct_high"],
    )
    if cautious and enrollments_to_date < min_enrollments_for_advice:
        return AdviceJudgement(
            "low",
            f"Too little history to advise a change ({enrollments_to_date:.0f} "
            f"enrollment{'' if round(enrollments_to_date) == 1 else 's'} so far; "
            f"advice starts at {min_enrollments_for_advice}). Keep {current:.0f} tokens.",
            current,
        )
    if cautious and low_pct <= 0 < high_pct and price != current:
        return AdviceJudgement(
            "low",
            f"The model cannot tell a move to {price:.0f} tokens from keeping {current:.0f}: the "
            f"expected revenue change ({change_pct:+.1f}%) is within its uncertainty "
            f"({low_pct:+.1f}% to {high_pct:+.1f}%). Keep the price.",
            current,
        )
    kind = demand_type(elasticity).lower()
    if price == current:
        return AdviceJudgement(
            "high",
            f"{current:.0f} tokens is already the best price within the guardrails "
            f"(elasticity {elasticity:.2f}, {kind}).",
            current,
        )
    change = (price / current - 1) * 100
    confidence = "high" if high_pct - low_pct < NARROW_INTERVAL_PCT else "medium"
    reason = (
        f"Demand is {kind} at {current:.0f} tokens (elasticity {elasticity:.2f}). "
        f"{'Lower' if change < 0 else 'Raise'} the price {abs(change):.0f}% to {price:.0f} tokens: expected "
        f"revenue {change_pct:+.1f}% (95% interval {low_pct:+.1f}% to {high_pct:+.1f}%)."
    )
    return AdviceJudgement(confidence, reason, price)
