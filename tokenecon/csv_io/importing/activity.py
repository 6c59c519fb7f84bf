"""The activity kind of the CSV import, declared for the upsert engine: one row per learner, day
and course (no course for activity not tied to one)."""

from __future__ import annotations

from tokenecon.csv_io.importing.engine import UpsertKind
from tokenecon.csv_io.importing.references import COURSE, LEARNER
from tokenecon.models import LearnerActivity


def activity_in_days_of(keys: list[tuple]) -> list[LearnerActivity]:
    """Every stored activity between the file's first and last day: one range scan, not IN lists."""
    days = [day for _, day, _ in keys]
    return list(LearnerActivity.objects.filter(day__gte=min(days), day__lte=max(days)))


ACTIVITY = UpsertKind(
    model=LearnerActivity,
    key=("learner_id", "day", "course_id"),
    foreign_keys=(LEARNER, COURSE),
    stored=activity_in_days_of,
)
