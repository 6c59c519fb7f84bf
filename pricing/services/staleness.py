"""Whether stored price advice still belongs to the demand model in production.

Advice is computed with one model version and stored; when another version is promoted, the
course pages draw the new model's curves at once while the stored advice still carries the old
model's figures until the recompute that promotion queues has finished. Until then every page and
the API mark advice from another version as stale and nobody may apply it (``apply_recommendation``
refuses it). With no demand model in production at all, advice is not marked: there is no newer
model for it to disagree with (the pages say that no model is in production).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, QuerySet

from pricing.models import AdviceRun, PriceRecommendation
from pricing.selectors import active_advice_run
from pricing.services.model_source import production_demand_version


@dataclass(frozen=True)
class AdviceFreshness:
    production_version: int | None
    # The advice recompute still queued or running, if any: stale advice is being replaced.
    recompute: AdviceRun | None

    def is_stale(self, advice: PriceRecommendation | None) -> bool:
        return (
            advice is not None
            and advice.status == PriceRecommendation.Status.PENDING
            and self.production_version is not None
            and advice.model_version != self.production_version
        )

    def stale_reason(self, advice: PriceRecommendation | None) -> str:
        """ "Computed with model v2; v9 is in production now; recomputing…" ("" when fresh)."""
        if not self.is_stale(advice):
            return ""
        then = (
            "recomputing…"
            if self.recompute is not None
            else "it is replaced at the next recompute of the advice."
        )
        return (
            f"Computed with model v{advice.model_version}; "
            f"v{self.production_version} is in production now; {then}"
        )

    def mark(self, courses: Iterable) -> None:
        """Set ``advice_stale`` and ``advice_stale_reason`` on courses that carry ``advice``."""
        for course in courses:
            advice = getattr(course, "advice", None)
            course.advice_stale = self.is_stale(advice)
            course.advice_stale_reason = self.stale_reason(advice)


def stale_price_moves_count(*, courses: QuerySet, freshness: AdviceFreshness) -> int:
    """How many of these courses' pending price-changing advice is stale (0 when none can be)."""
    if freshness.production_version is None:
        return 0
    return (
        PriceRecommendation.objects.filter(course__in=courses, status=PriceRecommendation.Status.PENDING)
        .exclude(recommended_price_tokens=F("current_price_tokens"))
        .exclude(model_version=freshness.production_version)
        .count()
    )


def advice_freshness() -> AdviceFreshness:
    return AdviceFreshness(production_version=production_demand_version(), recompute=active_advice_run())


def stale_refusal(*, model_version: int) -> str:
    """Why advice of ``model_version`` may not be applied now ("" when it may)."""
    production = production_demand_version()
    if production is None or production == model_version:
        return ""
    return (
        f"This advice was computed with model v{model_version} and v{production} is in production now: "
        "it cannot be applied until the advice is recomputed with the production model."
    )
