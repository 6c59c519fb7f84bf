"""The catalog kinds of the CSV import, declared for the upsert engine: courses and price history."""

from __future__ import annotations

from django.conf import settings

from tokenecon.csv_io.importing.engine import ForeignKey, UpsertKind
from tokenecon.models import Course, PriceChange

COURSES = UpsertKind(
    model=Course,
    key=("code",),
    fields=(
        "title",
        "description",
        "category",
        "difficulty",
        "duration_hours",
        "certificate_offered",
        "launch_date",
        "price_tokens",
        "price_floor_tokens",
        "status",
    ),
    foreign_keys=(
        ForeignKey(
            column="teacher_id",
            field="teacher_id",
            target="tokenecon.Teacher",
            natural_key="external_id",
            what="teacher (no teacher with this external id)",
        ),
    ),
)

# Keyed by course and time; the first stored change of a course at a time is the one updated.
PRICE_HISTORY = UpsertKind(
    model=PriceChange,
    key=("course_id", "effective_at"),
    fields=("new_price_tokens", "old_price_tokens", "source", "note"),
    foreign_keys=(
        ForeignKey(
            column="course_code",
            field="course_id",
            target="tokenecon.Course",
            natural_key="code",
            what="course (no course with this code)",
        ),
        ForeignKey(
            column="approved_by",
            field="approved_by_id",
            target=settings.AUTH_USER_MODEL,
            natural_key="username",
            what="user (no user with this username)",
        ),
    ),
)
