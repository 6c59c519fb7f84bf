"""Price writes: set a course's price within its bounds, and apply or dismiss stored advice (an
applied recommendation is a recorded price change), one by one or many at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pricing.errors import NotAdvisable, PricingError
from pricing.models import PriceRecommendation
from pricing.selectors import pricing_settings
from pricing.services.advice import guardrails
from pricing.services.notices import notify_staff_price_change
from pricing.services.staleness import stale_refusal
from tokenecon.errors import TokenEconomyError
from tokenecon.models import Course, Enrollment, PriceChange, PriceChangeSource

NO_SUCH_RECOMMENDATION = "No such recommendation."


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
    """Set the course's price to the pending recommendation's (inside today's guardrails)."""
    with transaction.atomic():
        locked = (
            PriceRecommendation.objects.select_for_update().select_related("course").get(pk=recommendation.pk)
        )
        if locked.status != PriceRecommendation.Status.PENDING:
            raise NotAdvisable(f"This recommendation is {locked.status}; only pending ones can be applied.")
        stale = stale_refusal(model_version=locked.model_version)
        if stale:
            raise NotAdvisable(stale)
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
        notify_staff_price_change(course=course, change=change, by=user)
        locked.status = PriceRecommendation.Status.APPLIED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        recommendation.status = locked.status
    return change


def dismiss_recommendation(*, recommendation: PriceRecommendation, user) -> PriceRecommendation:
    """Keep the course's price and mark the pending recommendation dismissed by ``user``."""
    with transaction.atomic():
        locked = PriceRecommendation.objects.select_for_update().get(pk=recommendation.pk)
        if locked.status != PriceRecommendation.Status.PENDING:
            raise NotAdvisable(f"This recommendation is {locked.status}; only pending ones can be dismissed.")
        locked.status = PriceRecommendation.Status.DISMISSED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked


@dataclass(frozen=True)
class Decision:
    """What became of one recommendation of a bulk decision: done, or refused with the reason."""

    recommendation_id: int
    recommendation: PriceRecommendation | None  # None: no such recommendation
    refusal: str = ""
    price_change: PriceChange | None = None  # the change an applied recommendation wrote

    @property
    def done(self) -> bool:
        return not self.refusal

    @property
    def subject(self) -> str:
        """What the decision was about, for a message: the course's code, or the unknown id."""
        if self.recommendation is None:
            return f"Recommendation {self.recommendation_id}"
        return self.recommendation.course.code


def apply_recommendations(*, ids: list[int], user) -> list[Decision]:
    """Apply each recommendation of ``ids`` (in that order) on its own: one that cannot be applied
    is refused with the reason and the others are still applied."""

    def apply(recommendation: PriceRecommendation) -> PriceChange:
        return apply_recommendation(recommendation=recommendation, user=user)

    return _decide_each(ids, apply)


def dismiss_recommendations(*, ids: list[int], user) -> list[Decision]:
    """Dismiss each recommendation of ``ids`` on its own, refusing those that are not pending."""

    def dismiss(recommendation: PriceRecommendation) -> None:
        dismiss_recommendation(recommendation=recommendation, user=user)

    return _decide_each(ids, dismiss)


def _decide_each(
    ids: list[int], decide: Callable[[PriceRecommendation], PriceChange | None]
) -> list[Decision]:
    found = PriceRecommendation.objects.select_related("course").in_bulk(ids)
    decisions = []
    for pk in ids:
        recommendation = found.get(pk)
        if recommendation is None:
            decisions.append(Decision(pk, None, refusal=NO_SUCH_RECOMMENDATION))
            continue
        try:
            change = decide(recommendation)
        except TokenEconomyError as exc:
            decisions.append(Decision(pk, recommendation, refusal=str(exc) or type(exc).__name__))
        else:
            decisions.append(Decision(pk, recommendation, price_change=change))
    return decisions


# --- a teacher's own price (issue 15) -----------------------------------------------------------

OWN_PRICE_NOTE = "Set by the teacher"
SLIDER_NOTE = "Set by the teacher from the what-if slider"
UNDO_NOTE_PREFIX = "Undo of price change "


@dataclass(frozen=True)
class OwnPriceBounds:
    """The prices a teacher may set today, and the guardrail that makes each end."""

    low: int
    high: int
    low_reason: str
    high_reason: str


def own_price_bounds(course: Course) -> OwnPriceBounds:
    """The platform bounds, the teacher's floor and the largest step of the pricing settings
    (``max_change_pct`` of today's price), as ``Guardrails.bounds`` combines them for advice."""
    step = float(pricing_settings().max_change_pct)
    candidates_low = [
        (settings.TOKEN_PRICE_MIN, f"the platform minimum of {settings.TOKEN_PRICE_MIN} tokens"),
        (
            int(np.ceil(course.price_tokens * (1 - step / 100) - 1e-9)),
            f"the largest step of {step:g}% from today's {course.price_tokens} tokens",
        ),
    ]
    if course.price_floor_tokens:
        candidates_low.append(
            (course.price_floor_tokens, f"your floor of {course.price_floor_tokens} tokens")
        )
    candidates_high = [
        (settings.TOKEN_PRICE_MAX, f"the platform maximum of {settings.TOKEN_PRICE_MAX} tokens"),
        (
            int(np.floor(course.price_tokens * (1 + step / 100) + 1e-9)),
            f"the largest step of {step:g}% from today's {course.price_tokens} tokens",
        ),
    ]
    low, low_reason = max(candidates_low, key=lambda c: c[0])
    high, high_reason = min(candidates_high, key=lambda c: c[0])
    if high < low:  # a floor above the allowed step wins: the floor is the teacher's
        high, high_reason = low, low_reason
    return OwnPriceBounds(low=low, high=high, low_reason=low_reason, high_reason=high_reason)


def own_price_refusal(course: Course, new_price_tokens: int) -> str:
    """Why the teacher may not set ``new_price_tokens`` today (the guardrail named), or ``""``."""
    if new_price_tokens == course.price_tokens:
        return f"{course.code} already costs {course.price_tokens} tokens."
    bounds = own_price_bounds(course)
    if new_price_tokens < bounds.low:
        return (
            f"{new_price_tokens} tokens is under {bounds.low_reason}: the lowest price today is {bounds.low}."
        )
    if new_price_tokens > bounds.high:
        return (
            f"{new_price_tokens} tokens is over {bounds.high_reason}: "
            f"the highest price today is {bounds.high}."
        )
    return ""


def set_own_price(*, course: Course, new_price_tokens: int, user, from_slider: bool = False) -> PriceChange:
    """The course's teacher sets its price inside today's guardrails; recorded as a manual change."""
    with transaction.atomic():
        locked = Course.objects.select_for_update().select_related("teacher").get(pk=course.pk)
        if locked.teacher.user_id != user.pk:
            raise PricingError("Only the course's teacher sets its price here.")
        refusal = own_price_refusal(locked, new_price_tokens)
        if refusal:
            raise PricingError(refusal)
        change = set_course_price(
            course=locked,
            new_price_tokens=new_price_tokens,
            approved_by=user,
            source=PriceChangeSource.MANUAL,
            note=SLIDER_NOTE if from_slider else OWN_PRICE_NOTE,
        )
    course.price_tokens = new_price_tokens
    return change


def undoable_change(course: Course, user, *, now=None) -> tuple[PriceChange | None, str]:
    """The teacher's last change of the course that an undo would reverse, or None and why not.

    The rule: the course's latest price change is one the teacher made themselves (not an undo),
    less than ``PRICE_UNDO_HOURS`` ago, and no learner has bought the course since."""
    now = now or timezone.now()
    last = PriceChange.objects.filter(course=course).order_by("-effective_at", "-pk").first()
    if (
        last is None
        or last.source != PriceChangeSource.MANUAL
        or last.approved_by_id != user.pk
        or last.note.startswith(UNDO_NOTE_PREFIX)
        or last.old_price_tokens is None
    ):
        return None, "There is no price change of yours to undo: the course's last change was not yours."
    if now - last.effective_at > timedelta(hours=settings.PRICE_UNDO_HOURS):
        return (
            None,
            f"Your last change is more than {settings.PRICE_UNDO_HOURS} hours old; "
            "set the price again instead.",
        )
    if Enrollment.objects.filter(course=course, enrolled_at__gte=last.effective_at).exists():
        return None, (
            f"A learner has bought {course.code} at {last.new_price_tokens} tokens since your change, "
            "so it cannot be undone; set the price again instead."
        )
    return last, ""


def undo_own_price(*, course: Course, user) -> PriceChange:
    """Restore the price before the teacher's last change, recorded as a price change too (the
    platform bounds and the floor still hold; the step limit does not, it returns to a known price)."""
    with transaction.atomic():
        locked = Course.objects.select_for_update().select_related("teacher").get(pk=course.pk)
        if locked.teacher.user_id != user.pk:
            raise PricingError("Only the course's teacher undoes its price change.")
        last, refusal = undoable_change(locked, user)
        if last is None:
            raise PricingError(refusal)
        change = set_course_price(
            course=locked,
            new_price_tokens=last.old_price_tokens,
            approved_by=user,
            source=PriceChangeSource.MANUAL,
            note=f"{UNDO_NOTE_PREFIX}{last.pk} ({last.old_price_tokens} → {last.new_price_tokens})",
        )
    course.price_tokens = change.new_price_tokens
    return change
