"""The columns of the CSV files that name another row by its natural key, and what they store."""

from __future__ import annotations

from django.conf import settings

from tokenecon.csv_io.importing.engine import ForeignKey

TEACHER = ForeignKey(
    "teacher_id",
    "teacher_id",
    "tokenecon.Teacher",
    "external_id",
    "teacher (no teacher with this external id)",
)
COURSE = ForeignKey(
    "course_code", "course_id", "tokenecon.Course", "code", "course (no course with this code)"
)
LEARNER = ForeignKey(
    "learner_id",
    "learner_id",
    "tokenecon.Learner",
    "external_id",
    "learner (no learner with this external id)",
)
APPROVER = ForeignKey(
    "approved_by", "approved_by_id", settings.AUTH_USER_MODEL, "username", "user (no user with this username)"
)
