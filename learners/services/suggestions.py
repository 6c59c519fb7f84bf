"""Course suggestions for one learner (which courses to show them next; price advice is
``pricing``'s), served from a per-process suggestion state.

``learners.ml.suggest`` scores every learner against every course from matrices built over the
whole enrollment history; building them costs a few hundred milliseconds at the default scale,
far too much per page view, while scoring one learner against a built state takes milliseconds.
So the state is built once per process and kept until the data it was built from changes. The
freshness check is two indexed look-ups (how many enrollments, the newest enrollment and the
newest course), cheap enough to run on every call, and it changes with every purchase: a course
a learner has just bought drops out of their suggestions on the next request.

Only published courses are candidates, and never a course the learner has already taken. A
learner without history (or one who joined after the state was built) gets the popular and
trending courses, the same scores the hybrid gives an empty history.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from learners.ml.suggest import DEFAULT_WEIGHTS, SuggestionState, build_state, suggest
from learners.selectors import course_frame, enrollment_frame, learner_frame
from tokenecon.models import Course, Enrollment, EnrollmentStatus, Learner

# Extra candidates asked of the model, so that courses unpublished since the state was built can
# be dropped and k suggestions still remain.
CANDIDATE_MARGIN = 10


@dataclass(frozen=True)
class CourseSuggestion:
    course: Course
    score: float
    reason: str


@dataclass(frozen=True)
class _CachedState:
    fingerprint: tuple
    state: SuggestionState
    row_of_learner: dict[int, int]


_cache: _CachedState | None = None
_lock = threading.Lock()


def clear_suggestion_cache() -> None:
    """Forget the built state; the next call rebuilds it (tests, data imports)."""
    global _cache
    with _lock:
        _cache = None


def _fingerprint() -> tuple:
    """What the state was built from, in a few indexed queries: any purchase, imported
    enrollment or new course changes it."""
    enrollments = Enrollment.objects.aggregate(n=Count("id"), newest=Max("id"))
    newest_enrollment = (
        Enrollment.objects.filter(pk=enrollments["newest"]).values_list("enrolled_at", flat=True).first()
    )
    newest_course = Course.objects.order_by("-pk").values_list("pk", "created_at").first()
    return (enrollments["n"], enrollments["newest"], newest_enrollment, newest_course)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _build(fingerprint: tuple) -> _CachedState:
    courses = course_frame()
    published = set(Course.objects.filter(status=Course.Status.PUBLISHED).values_list("pk", flat=True))
    courses = courses[courses["course_id"].isin(published)].reset_index(drop=True)
    enrollments = enrollment_frame()
    learners = learner_frame()
    # Cut-off just after the newest enrollment (or now): the state sees every enrollment.
    newest = enrollments["enrolled_at"].max() if len(enrollments) else None
    cutoff = _naive_utc(timezone.now())
    if newest is not None and not pd.isna(newest):
        cutoff = max(cutoff, newest.tz_convert("UTC").tz_localize(None).to_pydatetime())
    cutoff += timedelta(seconds=1)
    state = build_state(learners=learners, courses=courses, enrollments=enrollments, cutoff=cutoff)
    rows = {int(learner_id): row for row, learner_id in enumerate(state.learner_ids)}
    return _CachedState(fingerprint=fingerprint, state=state, row_of_learner=rows)


def _current() -> _CachedState:
    global _cache
    fingerprint = _fingerprint()
    cached = _cache
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    with _lock:
        if _cache is None or _cache.fingerprint != fingerprint:
            _cache = _build(fingerprint)
        return _cache


def _weights(weights: dict[str, float] | None) -> dict[str, float]:
    chosen = weights or getattr(settings, "LEARNER_RECOMMENDER_WEIGHTS", None) or DEFAULT_WEIGHTS
    unknown = set(chosen) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"Unknown recommender components {sorted(unknown)}; use {sorted(DEFAULT_WEIGHTS)}.")
    return dict(chosen)


def _cold_start(state: SuggestionState, *, k: int, weights: dict[str, float]) -> list[tuple[int, float, str]]:
    """What the hybrid gives an empty history: popularity and trend only."""
    popularity = weights.get("popularity", 0.0) * state.popularity
    trend = weights.get("trend", 0.0) * state.trend
    total = popularity + trend
    picks = []
    for c in np.argsort(-total, kind="stable")[:k]:
        category = state.categories[state.course_category_index[c]].replace("_", " ")
        trending = trend[c] > popularity[c]
        reason = f"Trending in {category} this month" if trending else f"Popular in {category}"
        picks.append((int(state.course_ids[c]), float(total[c]), reason))
    return picks


def suggest_courses(
    *, learner: Learner, k: int = 10, weights: dict[str, float] | None = None
) -> list[CourseSuggestion]:
    """The learner's top-k published courses they do not have yet, best first, each with a reason.

    ``weights`` mixes the hybrid's components (content, collaborative, popularity, trend); by
    default ``settings.LEARNER_RECOMMENDER_WEIGHTS`` if set, else the model's own defaults.
    """
    if k <= 0:
        return []
    mix = _weights(weights)
    cached = _current()
    state = cached.state
    if len(state.course_ids) == 0:
        return []
    wanted = k + CANDIDATE_MARGIN
    row = cached.row_of_learner.get(learner.pk)
    if row is None:
        picks = _cold_start(state, k=wanted, weights=mix)
    else:
        picks = suggest(state, np.array([row]), k=wanted, weights=mix)[0]
    owned = set(
        Enrollment.objects.filter(learner=learner)
        .exclude(status=EnrollmentStatus.REFUNDED)
        .values_list("course_id", flat=True)
    )
    ids = [course_id for course_id, _, _ in picks if course_id not in owned]
    courses = Course.objects.select_related("teacher").filter(pk__in=ids, status=Course.Status.PUBLISHED)
    by_id = {course.pk: course for course in courses}
    suggestions = [
        CourseSuggestion(course=by_id[course_id], score=score, reason=reason)
        for course_id, score, reason in picks
        if course_id in by_id
    ]
    return suggestions[:k]
