"""Learner data as DataFrames for snapshots, scoring and recommendations."""

from __future__ import annotations

import pandas as pd
from django.db.models import F, Max

from tokenecon.models import AccountKind, Course, Enrollment, Entry, Learner, LearnerActivity


def learner_frame() -> pd.DataFrame:
    rows = Learner.objects.values("joined_on", "user_id", learner_id=F("id"))
    return pd.DataFrame.from_records(list(rows), columns=["joined_on", "learner_id", "user_id"])


ENROLLMENT_COLUMNS = [
    "learner_id",
    "course_id",
    "enrolled_at",
    "list_price_tokens",
    "price_paid_tokens",
    "discount_pct",
    "completed_at",
    "rating",
    "status",
]


def enrollment_frame(*, learner_ids: list[int] | None = None, since=None) -> pd.DataFrame:
    query = Enrollment.objects.all()
    if learner_ids is not None:
        query = query.filter(learner_id__in=learner_ids)
    if since is not None:
        query = query.filter(enrolled_at__gte=since)
    rows = query.values(*ENROLLMENT_COLUMNS, category=F("course__category"))
    frame = pd.DataFrame.from_records(list(rows), columns=[*ENROLLMENT_COLUMNS, "category"])
    frame["discount_pct"] = frame["discount_pct"].astype(float)
    frame["completed_at"] = pd.to_datetime(frame["completed_at"], utc=True)
    frame["enrolled_at"] = pd.to_datetime(frame["enrolled_at"], utc=True)
    return frame


def activity_frame() -> pd.DataFrame:
    rows = LearnerActivity.objects.values_list(
        "learner_id", "day", "lessons_completed", "minutes", "forum_posts", "assignments_submitted"
    )
    return pd.DataFrame.from_records(
        list(rows),
        columns=[
            "learner_id",
            "day",
            "lessons_completed",
            "minutes",
            "forum_posts",
            "assignments_submitted",
        ],
    )


def wallet_frame() -> pd.DataFrame:
    """Every wallet entry, with the learner it belongs to."""
    rows = Entry.objects.filter(account__kind=AccountKind.LEARNER_WALLET).values_list(
        "account__owner__learner__id", "transfer__created_at", "amount_tokens", "transfer__kind"
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["learner_id", "created_at", "amount_tokens", "kind"]
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def course_frame(*, only_published: bool = False) -> pd.DataFrame:
    query = Course.objects.filter(status=Course.Status.PUBLISHED) if only_published else Course.objects.all()
    rows = query.values("category", "difficulty", "title", "price_tokens", course_id=F("id"))
    return pd.DataFrame.from_records(
        list(rows), columns=["category", "difficulty", "title", "price_tokens", "course_id"]
    )


def data_signature() -> dict:
    """What identifies the learner training data: counts and newest rows (for idempotent training)."""
    return {
        "learners": Learner.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "last_enrollment": str(Enrollment.objects.aggregate(m=Max("id"))["m"]),
        "activity": LearnerActivity.objects.count(),
        "last_activity": str(LearnerActivity.objects.aggregate(m=Max("id"))["m"]),
        "wallet_entries": Entry.objects.filter(account__kind=AccountKind.LEARNER_WALLET).count(),
    }
