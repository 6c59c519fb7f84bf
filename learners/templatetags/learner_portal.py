"""How the learner portal phrases things: ``{% load learner_portal %}``."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from tokenecon.models import CourseCategory

register = template.Library()


@register.filter
def expires_in(expires_at: datetime, now: datetime | None = None) -> str:
    """``expires in 3 days`` / ``expires in 5 hours`` / ``expired``, rounded to whole days when a
    day or more is left."""
    left = expires_at - (now or timezone.now())
    if left.total_seconds() <= 0:
        return "expired"
    days = round(left.total_seconds() / 86400)
    if days >= 1:
        return f"expires in {days} day{'s' if days != 1 else ''}"
    hours = max(1, int(left.total_seconds() // 3600))
    return f"expires in {hours} hour{'s' if hours != 1 else ''}"


@register.filter
def offer_message(offer) -> str:
    """What a learner reads about an offer: the discount, what it is on and until when. The
    model's reasoning (elasticities, sensitivity scores) stays on staff pages and the admin."""
    pct = f"{offer.discount_pct.normalize():f}%"
    if offer.course_id:
        target = f"“{offer.course.title}”"
    else:
        target = f"every {CourseCategory(offer.category).label} course"
    return f"A personal offer for you: {pct} off {target} until {offer.expires_at:%d %B %Y}."
