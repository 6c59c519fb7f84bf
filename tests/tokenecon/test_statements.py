"""Statements reconcile with the ledger: a teacher's months add up to their balances, and a
learner's wallet statement ends at the wallet's balance."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.factories import LearnerFactory, StaffFactory, TeacherFactory
from tests.tokenecon.payout_world import sell
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.earnings import release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course, refund_enrollment
from tokenecon.services.payouts import approve_payout, reject_payout, request_payout
from tokenecon.services.statements import (
    parse_month,
    statement_months,
    teacher_statement,
    wallet_statement,
    write_teacher_statement_csv,
    write_wallet_statement_csv,
)

pytestmark = pytest.mark.django_db

MARCH, APRIL, MAY = date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)


def at(day: date, days: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=days)


@pytest.fixture
def history():
    """March: three sales (1,000, 1,000 and 500), one refunded inside the window. April: the
    window passes, a payout of 600 is paid, one of 500 rejected, one of 500 left requested."""
    teacher, staff = TeacherFactory(), StaffFactory()
    sell(teacher, price_tokens=1000, at=at(MARCH, 1))
    sell(teacher, price_tokens=1000, at=at(MARCH, 2))
    refunded = sell(teacher, price_tokens=500, at=at(MARCH, 3))
    refund_enrollment(enrollment=refunded, idempotency_key="refund-1", reason="changed mind")
    release_due(now=at(APRIL, 5), teacher=teacher)
    paid = request_payout(teacher=teacher, amount_tokens=600, idempotency_key="a", at=at(APRIL, 6))
    approve_payout(paid, by=staff, reference="BANK-1", at=at(APRIL, 7))
    rejected = request_payout(teacher=teacher, amount_tokens=500, idempotency_key="b", at=at(APRIL, 8))
    reject_payout(rejected, by=staff, reason="check details", at=at(APRIL, 9))
    request_payout(teacher=teacher, amount_tokens=500, idempotency_key="c", at=at(APRIL, 10))
    return teacher


def test_a_month_of_sales_and_refunds(history):
    march = teacher_statement(teacher=history, month=MARCH, release=False)
    assert march.sales_count == 3 and march.refunds_count == 0
    assert march.gross_sales == 2500
    assert march.commission == 500
    assert march.earned == 2000
    assert march.opening.total == 0 and march.closing.pending == 2000
    assert march.reconciles
    # The refund is posted now (refunds are not back-dated): this month's statement has it.
    now = teacher_statement(teacher=history, month=datetime.now(UTC).date())
    assert (now.refunds, now.refunds_count) == (400, 1) and now.reconciles


def test_every_month_reconciles_and_the_months_add_up_to_the_balances(history):
    balances = teacher_balances(history)
    statements = [teacher_statement(teacher=history, month=m) for m in statement_months(history)]
    assert all(s.reconciles for s in statements)
    # Months are consecutive: each one opens where the one before closed.
    oldest_first = statements[::-1]
    for before, after in zip(oldest_first, oldest_first[1:], strict=False):
        assert after.opening == before.closing
    latest = statements[0]
    assert (latest.closing.pending, latest.closing.available, latest.closing.held) == (
        balances.pending,
        balances.available,
        balances.held,
    )
    assert sum(s.earned for s in statements) == balances.earned
    assert sum(s.refunds for s in statements) == balances.refunded
    assert sum(s.paid_out for s in statements) == balances.paid == 600
    assert sum(s.net for s in statements) == balances.earned - balances.refunded


def test_the_payout_month(history):
    april = teacher_statement(teacher=history, month=APRIL, release=False)
    assert april.paid_out == 600
    assert april.payout_requests == 1600
    assert april.payout_returns == 500
    assert april.releases == 1600
    assert april.closing.held == 500
    assert april.reconciles


def test_the_csv_has_opening_lines_closing_and_summary(history):
    stream = io.StringIO()
    april = teacher_statement(teacher=history, month=APRIL, release=False)
    write_teacher_statement_csv(april, stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0][:4] == ["date", "transfer_id", "kind", "memo"]
    assert rows[1][2] == "opening"
    closing = next(r for r in rows if r[2:3] == ["closing"])
    assert [int(v) for v in closing[7:10]] == [
        april.closing.pending,
        april.closing.available,
        april.closing.held,
    ]
    figures = dict(r for r in rows if len(r) == 2 and r[0] != "figure")
    assert int(figures["Paid out"]) == -600


def test_a_memo_that_looks_like_a_formula_is_quoted():
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=50, idempotency_key="t", memo="=HYPERLINK(1)")
    stream = io.StringIO()
    assert write_wallet_statement_csv(learner, stream) == 1
    assert "'=HYPERLINK(1)" in stream.getvalue()


def test_the_wallet_statement_ends_at_the_wallet_balance(course):
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=300, idempotency_key="t1", at=at(MARCH))
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="p1", at=at(MARCH, 1))
    refund_enrollment(enrollment=enrollment, idempotency_key="r1", reason="refund")
    top_up_wallet(learner=learner, amount_tokens=25, idempotency_key="t2")
    lines = list(wallet_statement(learner))
    assert [line.kind for line in lines] == ["top_up", "purchase", "refund", "top_up"]
    assert [line.amount for line in lines] == [300, -100, 100, 25]
    assert lines[-1].balance == wallet_of(learner).balance_tokens == 325
    stream = io.StringIO()
    write_wallet_statement_csv(learner, stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0] == ["date", "transfer_id", "kind", "memo", "amount_tokens", "balance_tokens"]
    assert rows[-1][-1] == "325"


@pytest.mark.parametrize("text", ["2026-13", "March", "2026/03", "1999-01", "9999-01"])
def test_a_bad_month_is_refused_clearly(text):
    with pytest.raises(ValueError, match="YYYY-MM|between 2000 and 2100"):
        parse_month(text)


def test_months_run_from_the_first_entry_to_now():
    teacher = TeacherFactory()
    assert statement_months(teacher) == [datetime.now(UTC).date().replace(day=1)]
    sell(teacher, price_tokens=100, at=at(MAY))
    months = statement_months(teacher)
    assert months[-1] == MAY and months[0] == datetime.now(UTC).date().replace(day=1)
