"""Exporting the marketplace and the ledger to CSV, in the same columns the importers read.

Each kind is a ``RowSource``: its model in file order and where each column is read or how it is
derived. Rows stream from the database in chunks, so exports of large tables keep memory flat.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from django.db import models

from tokenecon.csv_io.importing.ledger import first_refund_times, wallet_funding_by_user
from tokenecon.csv_io.schemas import IMPORT_KINDS, SCHEMAS
from tokenecon.models import Course, Enrollment, Entry, Learner, LearnerActivity, PriceChange, Teacher

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


DerivedColumns = Callable[[], Callable[[dict], dict]]


@dataclass(frozen=True)
class RowSource:
    """Where one kind's rows come from: a model in file order, and where each column is read.

    ``read_from`` names the lookup of a column not stored under its own name. ``derive``, when
    given, is called once per export (to read what the rows share) and returns the function
    that computes ``derived`` columns from a row read with the ``also_read`` lookups.
    """

    model: type[models.Model]
    order_by: tuple[str, ...]
    columns: Sequence[str]
    read_from: Mapping[str, str] = field(default_factory=dict)
    derived: tuple[str, ...] = ()
    also_read: tuple[str, ...] = ()
    derive: DerivedColumns | None = None

    def rows(self) -> Iterator[dict]:
        stored = [c for c in self.columns if c not in self.derived]
        lookups = list(dict.fromkeys([*(self.read_from.get(c, c) for c in stored), *self.also_read]))
        compute = self.derive() if self.derive else None
        values = self.model.objects.order_by(*self.order_by).values(*lookups)
        for read in values.iterator(chunk_size=ITERATOR_CHUNK):
            row = {c: read[self.read_from.get(c, c)] for c in stored}
            if compute is not None:
                row.update(compute(read))
            yield row


def tokens_funded() -> Callable[[dict], dict]:
    funded = wallet_funding_by_user()
    return lambda read: {"tokens_funded": funded.get(read["user_id"], 0)}


def enrollment_id_and_refund() -> Callable[[dict], dict]:
    refunded_at = first_refund_times()
    return lambda read: {
        "enrollment_id": enrollment_key(read["external_id"], read["pk"]),
        "refunded_at": refunded_at.get(read["pk"]) if read["status"] == "refunded" else None,
    }


def transfer_enrollment_and_owner(read: dict) -> dict:
    enrollment_pk = read["transfer__enrollment_id"]
    return {
        "enrollment_id": enrollment_key(read["transfer__enrollment__external_id"], enrollment_pk)
        if enrollment_pk
        else None,
        "account_owner_id": read["account__owner__teacher__external_id"]
        or read["account__owner__learner__external_id"],
    }


USER_COLUMNS = {"username": "user__username", "email": "user__email"}
LEARNER_AND_COURSE = {"learner_id": "learner__external_id", "course_code": "course__code"}

ROW_SOURCES: dict[str, RowSource] = {
    "teachers": RowSource(
        model=Teacher, order_by=("external_id",), columns=SCHEMAS["teachers"].names, read_from=USER_COLUMNS
    ),
    "courses": RowSource(
        model=Course,
        order_by=("code",),
        columns=SCHEMAS["courses"].names,
        read_from={"teacher_id": "teacher__external_id"},
    ),
    "learners": RowSource(
        model=Learner,
        order_by=("external_id",),
        columns=SCHEMAS["learners"].names,
        read_from=USER_COLUMNS,
        derived=("tokens_funded",),
        also_read=("user_id",),
        derive=tokens_funded,
    ),
    "price_history": RowSource(
        model=PriceChange,
        order_by=("course__code", "effective_at", "pk"),
        columns=SCHEMAS["price_history"].names,
        read_from={"course_code": "course__code", "approved_by": "approved_by__username"},
    ),
    "enrollments": RowSource(
        model=Enrollment,
        order_by=("enrolled_at", "pk"),
        columns=SCHEMAS["enrollments"].names,
        read_from=LEARNER_AND_COURSE,
        derived=("enrollment_id", "refunded_at"),
        also_read=("pk", "external_id"),
        derive=enrollment_id_and_refund,
    ),
    "activity": RowSource(
        model=LearnerActivity,
        order_by=("learner__external_id", "day", "course__code"),
        columns=SCHEMAS["activity"].names,
        read_from=LEARNER_AND_COURSE,
    ),
    "transfers": RowSource(
        model=Entry,
        order_by=("transfer__created_at", "transfer_id", "pk"),
        columns=TRANSFER_COLUMNS,
        read_from={
            "transfer_key": "transfer__idempotency_key",
            "kind": "transfer__kind",
            "created_at": "transfer__created_at",
            "memo": "transfer__memo",
            "reverses_key": "transfer__reverses__idempotency_key",
            "account_kind": "account__kind",
        },
        derived=("enrollment_id", "account_owner_id"),
        also_read=(
            "transfer__enrollment_id",
            "transfer__enrollment__external_id",
            "account__owner__teacher__external_id",
            "account__owner__learner__external_id",
        ),
        derive=lambda: transfer_enrollment_and_owner,
    ),
}


def export_columns(kind: str) -> tuple[str, ...]:
    return tuple(ROW_SOURCES[kind].columns)


def export_csv(*, kind: str, stream: IO[str]) -> int:
    """Write every row of ``kind`` to ``stream`` (header first); return the number of data rows."""
    if kind not in ROW_SOURCES:
        raise ValueError(f"Unknown kind {kind!r}; choose one of {', '.join(EXPORT_KINDS)}.")
    columns = export_columns(kind)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in ROW_SOURCES[kind].rows():
        writer.writerow([format_value(row.get(c)) for c in columns])
        count += 1
    return count
