"""Reads of marketplace data as DataFrames for the demand models."""

from __future__ import annotations

from datetime import date

import pandas as pd
from django.db.models import F, Max, Min

from tokenecon.models import Course, Enrollment, PriceChange


def course_frame() -> pd.DataFrame:
    rows = Course.objects.values(
        "code",
        "category",
        "difficulty",
        "duration_hours",
        "certificate_offered",
        "launch_date",
        "price_tokens",
        course_id=F("id"),
        teacher_quality=F("teacher__quality_score"),
        teacher_years=F("teacher__years_experience"),
    )
    frame = pd.DataFrame.from_records(list(rows))
    if frame.empty:
        return frame
    frame["duration_hours"] = frame["duration_hours"].astype(float)
    return frame


def price_change_frame() -> pd.DataFrame:
    rows = PriceChange.objects.values_list(
        "course_id", "effective_at", "old_price_tokens", "new_price_tokens"
    )
    return pd.DataFrame.from_records(
        list(rows), columns=["course_id", "effective_at", "old_price_tokens", "new_price_tokens"]
    )


def enrollment_frame(*, until: date | None = None) -> pd.DataFrame:
    rows = Enrollment.objects.all()
    if until is not None:
        rows = rows.filter(enrolled_at__date__lte=until)
    records = rows.values_list("course_id", "enrolled_at", "completed_at", "rating")
    return pd.DataFrame.from_records(
        list(records), columns=["course_id", "enrolled_at", "completed_at", "rating"]
    )


def enrollment_window() -> tuple[date | None, date | None]:
    bounds = Enrollment.objects.aggregate(first=Min("enrolled_at"), last=Max("enrolled_at"))
    if bounds["first"] is None:
        return None, None
    return bounds["first"].date(), bounds["last"].date()


def data_signature() -> dict:
    """What identifies the training data: counts and the newest rows (for idempotent training)."""
    return {
        "courses": Course.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "last_enrollment": str(Enrollment.objects.aggregate(m=Max("id"))["m"]),
        "price_changes": PriceChange.objects.count(),
        "last_price_change": str(PriceChange.objects.aggregate(m=Max("id"))["m"]),
    }
