"""Exporting the marketplace and the ledger to CSV, in the same columns the importers read.

Rows stream from the database in chunks, so exports of large tables keep memory flat.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from tokenecon.csv_io.importing.ledger import wallet_funding_by_user
from tokenecon.csv_io.schemas import IMPORT_KINDS, SCHEMAS
from tokenecon.models import (
    Course,
    Enrollment,
    Entry,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
    Transfer,
    TransferKind,
)

EXPORT_KINDS = (*IMPORT_KINDS, "transfers")
TRANSFER_COLUMNS = (
    "transfer_key",
    "kind",
    "created_at",
    "memo",
    "enrollment_id",
    "reverses_key",
    "account_kind",
    "account_owner_id",
    "amount_tokens",
)
ITERATOR_CHUNK = 5000


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def enrollment_key(external_id: str | None, pk: int) -> str:
    """An enrollment bought in the app has no external id; ``local-<pk>`` names it in files."""
    return external_id or f"local-{pk}"


def _teachers() -> Iterator[dict]:
    rows = Teacher.objects.order_by("external_id").values(
        "external_id",
        "display_name",
        "bio",
        "quality_score",
        "years_experience",
        "joined_on",
        "user__username",
        "user__email",
    )
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        row["username"] = row.pop("user__username")
        row["email"] = row.pop("user__email")
        yield row


def _courses() -> Iterator[dict]:
    fields = [c.name for c in SCHEMAS["courses"].columns if c.name != "teacher_id"]
    rows = Course.objects.order_by("code").values(*fields, "teacher__external_id")
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        row["teacher_id"] = row.pop("teacher__external_id")
        yield row


def _learners() -> Iterator[dict]:
    funded = wallet_funding_by_user()
    rows = Learner.objects.order_by("external_id").values(
        "external_id",
        "joined_on",
        "country",
        "age_group",
        "education",
        "acquisition_channel",
        "user_id",
        "user__username",
        "user__email",
    )
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        row["username"] = row.pop("user__username")
        row["email"] = row.pop("user__email")
        row["tokens_funded"] = funded.get(row.pop("user_id"), 0)
        yield row


def _price_history() -> Iterator[dict]:
    rows = PriceChange.objects.order_by("course__code", "effective_at", "pk").values(
        "course__code",
        "effective_at",
        "new_price_tokens",
        "old_price_tokens",
        "source",
        "approved_by__username",
        "note",
    )
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        row["course_code"] = row.pop("course__code")
        row["approved_by"] = row.pop("approved_by__username")
        yield row


def _refund_times() -> dict[int, datetime]:
    """First refund time per enrollment, in one pass (a correlated subquery is slow on SQLite)."""
    times: dict[int, datetime] = {}
    refunds = Transfer.objects.filter(kind=TransferKind.REFUND, enrollment__isnull=False).order_by(
        "-created_at"
    )
    for enrollment_id, created_at in refunds.values_list("enrollment_id", "created_at").iterator(
        ITERATOR_CHUNK
    ):
        times[enrollment_id] = created_at
    return times


def _enrollments() -> Iterator[dict]:
    refunded_at = _refund_times()
    rows = Enrollment.objects.order_by("enrolled_at", "pk").values(
        "pk",
        "external_id",
        "learner__external_id",
        "course__code",
        "enrolled_at",
        "list_price_tokens",
        "price_paid_tokens",
        "discount_pct",
        "status",
        "progress_pct",
        "completed_at",
        "rating",
    )
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        pk = row.pop("pk")
        row["enrollment_id"] = enrollment_key(row.pop("external_id"), pk)
        row["learner_id"] = row.pop("learner__external_id")
        row["course_code"] = row.pop("course__code")
        row["refunded_at"] = refunded_at.get(pk) if row["status"] == "refunded" else None
        yield row


def _activity() -> Iterator[dict]:
    rows = LearnerActivity.objects.order_by("learner__external_id", "day", "course__code").values(
        "learner__external_id",
        "day",
        "course__code",
        "lessons_completed",
        "minutes",
        "forum_posts",
        "assignments_submitted",
    )
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        row["learner_id"] = row.pop("learner__external_id")
        row["course_code"] = row.pop("course__code")
        yield row


def _transfers() -> Iterator[dict]:
    rows = Entry.objects.order_by("transfer__created_at", "transfer_id", "pk").values(
        "transfer__idempotency_key",
        "transfer__kind",
        "transfer__created_at",
        "transfer__memo",
        "transfer__enrollment_id",
        "transfer__enrollment__external_id",
        "transfer__reverses__idempotency_key",
        "account__kind",
        "account__owner__teacher__external_id",
        "account__owner__learner__external_id",
        "amount_tokens",
    )
    for row in rows.iterator(chunk_size=ITERATOR_CHUNK):
        enrollment_pk = row["transfer__enrollment_id"]
        yield {
            "transfer_key": row["transfer__idempotency_key"],
            "kind": row["transfer__kind"],
            "created_at": row["transfer__created_at"],
            "memo": row["transfer__memo"],
            "enrollment_id": enrollment_key(row["transfer__enrollment__external_id"], enrollment_pk)
            if enrollment_pk
            else None,
            "reverses_key": row["transfer__reverses__idempotency_key"],
            "account_kind": row["account__kind"],
            "account_owner_id": row["account__owner__teacher__external_id"]
            or row["account__owner__learner__external_id"],
            "amount_tokens": row["amount_tokens"],
        }


ROW_SOURCES: dict[str, Callable[[], Iterator[dict]]] = {
    "teachers": _teachers,
    "courses": _courses,
    "learners": _learners,
    "price_history": _price_history,
    "enrollments": _enrollments,
    "activity": _activity,
    "transfers": _transfers,
}


def export_columns(kind: str) -> tuple[str, ...]:
    return TRANSFER_COLUMNS if kind == "transfers" else tuple(SCHEMAS[kind].names)


def export_csv(*, kind: str, stream: IO[str]) -> int:
    """Write every row of ``kind`` to ``stream`` (header first); return the number of data rows."""
    if kind not in ROW_SOURCES:
        raise ValueError(f"Unknown kind {kind!r}; choose one of {', '.join(EXPORT_KINDS)}.")
    columns = export_columns(kind)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in ROW_SOURCES[kind]():
        writer.writerow([format_value(row.get(c)) for c in columns])
        count += 1
    return count
