"""The activity kind of the CSV import, declared for the upsert engine: one row per learner, day
and course (no course for activity not tied to one)."""

from __future__ import annotations

from tokenecon.csv_io.importing.engine import ForeignKey, UpsertKind
from tokenecon.models import LearnerActivity


def activity_in_days_of(keys: list[tuple]) -> list[LearnerActivity]:
    """Every stored activity between the file's first and last day: one range scan, not IN lists."""
    days = [day for _, day, _ in keys]
    return list(LearnerActivity.objects.filter(day__gte=min(days), day__lte=max(days)))


ACTIVITY = UpsertKind(
    model=LearnerActivity,
    key=("learner_id", "day", "course_id"),
    fields=("lessons_completed", "minutes", "forum_posts", "assignments_submitted"),
    foreign_keys=(
        ForeignKey(
            column="learner_id",
            field="learner_id",
            target="tokenecon.Learner",
            natural_key="external_id",
            what="learner (no learner with this external id)",
        ),
        ForeignKey(
            column="course_code",
            field="course_id",
            target="tokenecon.Course",
            natural_key="code",
            what="course (no course with this code)",
        ),
    ),
    stored=activity_in_days_of,
)
