import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from tests.factories import build_marketplace
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.csv_io import EXPORT_KINDS, IMPORT_KINDS, export_csv, import_csv
from tokenecon.csv_io.exporters import export_columns
from tokenecon.models import (
    Account,
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
from tokenecon.services.earnings import release_due

pytestmark = pytest.mark.django_db


def exported(kind: str) -> str:
    stream = io.StringIO()
    export_csv(kind=kind, stream=stream)
    return stream.getvalue()


def balances() -> dict[tuple[str, str], int]:
    """Balances keyed by account kind and owner external id (ids differ between databases)."""
    result = {}
    for account in Account.objects.select_related("owner__teacher", "owner__learner"):
        owner = ""
        if account.owner_id:
            person = getattr(account.owner, "teacher", None) or getattr(account.owner, "learner", None)
            owner = person.external_id
        result[(account.kind, owner)] = account.balance_tokens
    return result


def empty_database() -> None:
    """Raw deletes: the ledger refuses ORM deletes, and the point is a database with nothing in it."""
    models = [Entry, Transfer, LearnerActivity, Enrollment, PriceChange, Course, Account, Teacher, Learner]
    with connection.cursor() as cursor:
        for model in [*models, get_user_model()]:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608 - fixed table names


def test_round_trip_into_an_empty_database_gives_the_same_data_and_balances():
    build_marketplace()
    # The source's old enrollments have cleared their refund window, as the import clears them.
    assert release_due() > 0
    files = {kind: exported(kind) for kind in IMPORT_KINDS}
    before = balances()
    empty_database()
    assert not Teacher.objects.exists() and not Transfer.objects.exists()

    for kind in IMPORT_KINDS:
        import_csv(kind=kind, source=files[kind])

    for kind in IMPORT_KINDS:
        assert exported(kind) == files[kind], kind
    assert balances() == before
    assert_ledger_consistent()
    # Funded as in the source, no wallet needed a top-up to pay for an enrollment.
    assert not Transfer.objects.filter(idempotency_key__startswith="csv-import-topup-").exists()


def test_reimporting_an_export_into_the_same_database_moves_no_tokens():
    build_marketplace()
    files = {kind: exported(kind) for kind in IMPORT_KINDS}
    transfers, before = Transfer.objects.count(), balances()
    results = [import_csv(kind=kind, source=files[kind]) for kind in IMPORT_KINDS]
    assert all(r.created == 0 for r in results)
    assert Transfer.objects.count() == transfers
    assert balances() == before
    # The app's enrollments were adopted under their exported ids; a second pass changes nothing.
    assert not Enrollment.objects.filter(external_id__isnull=True).exists()
    again = [import_csv(kind=kind, source=files[kind]) for kind in IMPORT_KINDS]
    assert all(r.created == 0 and r.updated == 0 for r in again)


def test_transfers_export_has_one_row_per_entry_with_owner_ids():
    data = build_marketplace()
    rows = list(csv.DictReader(io.StringIO(exported("transfers"))))
    assert len(rows) == Entry.objects.count()
    refund = [r for r in rows if r["kind"] == TransferKind.REFUND]
    # Refunded inside the window: the teacher's share comes back from their pending earnings.
    assert {r["account_kind"] for r in refund} == {"learner_wallet", "teacher_pending", "platform_revenue"}
    assert all(r["reverses_key"] == "b-p4" for r in refund)
    wallet_row = next(r for r in refund if r["account_kind"] == "learner_wallet")
    assert wallet_row["account_owner_id"] == data["learners"][2].external_id
    assert int(wallet_row["amount_tokens"]) == data["enrollments"][3].price_paid_tokens
    by_transfer: dict[str, int] = {}
    for row in rows:
        by_transfer[row["transfer_key"]] = by_transfer.get(row["transfer_key"], 0) + int(row["amount_tokens"])
    assert set(by_transfer.values()) == {0}


def test_export_values_are_formatted_for_reimport():
    build_marketplace()
    courses = list(csv.DictReader(io.StringIO(exported("courses"))))
    assert courses[0]["certificate_offered"] == "true"
    assert courses[2]["duration_hours"] == "7.5"
    enrollments = list(csv.DictReader(io.StringIO(exported("enrollments"))))
    assert enrollments[0]["enrolled_at"] == "2025-03-01T10:30:00+00:00"
    refunded = next(r for r in enrollments if r["status"] == "refunded")
    assert refunded["refunded_at"]
    learners = list(csv.DictReader(io.StringIO(exported("learners"))))
    assert [r["tokens_funded"] for r in learners] == ["300", "175", "200"]


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_export_command_writes_a_header_even_when_empty(kind, tmp_path):
    target = tmp_path / f"{kind}.csv"
    call_command("export_csv", kind, str(target), stdout=io.StringIO())
    header = target.read_text().splitlines()[0]
    assert header.split(",")[0] in {
        "external_id",
        "code",
        "course_code",
        "enrollment_id",
        "learner_id",
        "transfer_key",
    }


def test_docs_describe_every_column_of_every_kind():
    docs = (Path(settings.BASE_DIR) / "docs" / "csv.md").read_text()
    for kind in EXPORT_KINDS:
        assert f"## {kind}" in docs
        for column in export_columns(kind):
            assert f"| `{column}` |" in docs, (kind, column)
