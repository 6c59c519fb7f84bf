"""The catalog kinds of the CSV import, declared for the upsert engine: courses and price history."""

from __future__ import annotations

from tokenecon.csv_io.importing.engine import UpsertKind
from tokenecon.csv_io.importing.references import APPROVER, COURSE, TEACHER
from tokenecon.models import Course, PriceChange

COURSES = UpsertKind(model=Course, key=("code",), foreign_keys=(TEACHER,))

# Keyed by course and time; the first stored change of a course at a time is the one updated.
PRICE_HISTORY = UpsertKind(
    model=PriceChange, key=("course_id", "effective_at"), foreign_keys=(COURSE, APPROVER)
)
