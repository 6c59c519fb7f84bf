"""Statements with coupon purchases and refunds reconcile with the ledger (issue 16).

March: a teacher-funded 50% coupon (paid 500: teacher 400, commission 100), a platform-funded 50%
coupon (paid 500: the teacher is credited 800 as at list price, the treasury pays 300), a
platform-funded 100% coupon (nothing moves), a list-price sale (1,000: 800 and 200), and the
teacher-funded purchase refunded by the learner inside the window. April: the window passes, a
payout of 1,500 is paid, then staff refund the platform-funded purchase after the release: the
teacher's 800 share comes from their available 100 as far as it goes, the other 700 from the
treasury. Every month reconciles, the months chain and add up to ``teacher_balances``, and the
learners' wallet statements end at their wallets."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import CouponFactory, CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import NotRefundable
from tokenecon.models import Transfer
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.coupons import purchase_with_coupon
from tokenecon.services.earnings import release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.payouts import approve_payout, request_payout
from tokenecon.services.refunds import learner_refund, staff_refund
from tokenecon.services.statements import (
    statement_months,
    teacher_statement,
    wallet_statement,
    write_teacher_statement_csv,
)

pytestmark = pytest.mark.django_db

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def at(day: date, days: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=days)


def buyer(tokens: int, when: datetime, tag: str):
    learner = LearnerFactory()
    if tokens:
        top_up_wallet(learner=learner, amount_tokens=tokens, idempotency_key=f"fund-{tag}", at=when)
    return learner


@pytest.fixture
def world(settings):
    settings.PAYOUT_PROVIDER = "test"
    settings.TOKEN_PAYOUT_MIN_TOKENS = 100
    teacher, staff = TeacherFactory(), StaffFactory()
    one, two, three = (CourseFactory(teacher=teacher, price_tokens=p) for p in (1000, 1000, 600))
    CouponFactory(code="TEACH50", course=one, percent_off=Decimal(50), funded_by="teacher")
    CouponFactory(code="PLAT50", course=two, percent_off=Decimal(50), funded_by="platform")
    CouponFactory(code="FREE100", course=three, percent_off=Decimal(100), funded_by="platform")
    a, b, c, d = (
        buyer(500, at(MARCH, 1), "a"),
        buyer(500, at(MARCH, 1), "b"),
        buyer(0, at(MARCH, 1), "c"),
        buyer(1000, at(MARCH, 1), "d"),
    )
    teach = purchase_with_coupon(learner=a, course=one, code="teach50", idempotency_key="a", at=at(MARCH, 2))
    plat = purchase_with_coupon(learner=b, course=two, code="plat50", idempotency_key="b", at=at(MARCH, 3))
    free = purchase_with_coupon(learner=c, course=three, code="free100", idempotency_key="c", at=at(MARCH, 4))
    purchase_course(learner=d, course=one, idempotency_key="d", at=at(MARCH, 5))
    learner_refund(learner=a, enrollment=teach, at=at(MARCH, 6))
    release_due(now=at(APRIL, 5), teacher=teacher)
    payout = request_payout(teacher=teacher, amount_tokens=1500, idempotency_key="p", at=at(APRIL, 6))
    approve_payout(payout, by=staff, reference="BANK-1", at=at(APRIL, 7))
    staff_refund(enrollment=plat, idempotency_key="refund-b", reason="asked support", at=at(APRIL, 10))
    return {"teacher": teacher, "learners": (a, b, c, d), "free": free}


def test_the_coupon_month(world):
    march = teacher_statement(teacher=world["teacher"], month=MARCH, release=False)
    assert march.sales_count == 3  # the 100% coupon moved nothing: no sale on the statement
    assert march.gross_sales == 500 + 500 + 1000
    assert march.commission == 100 + 0 + 200
    assert march.platform_funded == 300
    assert march.earned == 400 + 800 + 800
    assert march.earned == march.gross_sales - march.commission + march.platform_funded
    assert (march.refunds, march.refunds_count) == (400, 1)  # the teacher-funded share, from pending
    assert march.closing.pending == 1600 and march.closing.available == 0
    assert march.reconciles


def test_the_refund_after_release_month(world):
    april = teacher_statement(teacher=world["teacher"], month=APRIL, release=False)
    assert april.releases == 1600 and april.paid_out == 1500
    assert (april.refunds, april.refunds_count) == (100, 1)  # 100 from available, 700 the platform's
    assert april.opening.total == 1600 and april.closing.total == 0
    assert april.reconciles


def test_every_month_reconciles_chains_and_adds_up_to_the_balances(world):
    teacher = world["teacher"]
    months = statement_months(teacher)[::-1]  # oldest first
    statements = [teacher_statement(teacher=teacher, month=m, release=False) for m in months]
    assert all(s.reconciles for s in statements)
    for before, after in zip(statements, statements[1:], strict=False):
        assert after.opening == before.closing
    balances = teacher_balances(teacher, release=False)
    assert balances.identity_holds
    closing = statements[-1].closing
    assert (closing.pending, closing.available, closing.held) == (
        balances.pending,
        balances.available,
        balances.held,
    )
    assert sum(s.earned for s in statements) == balances.earned == 2000
    assert sum(s.refunds for s in statements) == balances.refunded == 500
    assert sum(s.paid_out for s in statements) == balances.paid == 1500
    assert sum(s.adjustments for s in statements) == 0
    assert_ledger_consistent()


def test_the_free_enrollment_moved_nothing_and_cannot_be_refunded(world):
    free = world["free"]
    assert free.price_paid_tokens == 0 and free.coupon.code == "FREE100" and free.released_at is not None
    assert not Transfer.objects.filter(enrollment=free).exists()
    with pytest.raises(NotRefundable, match="no tokens were paid"):
        staff_refund(enrollment=free, idempotency_key="refund-free")


def test_the_csv_carries_the_platform_funded_discount(world):
    out = io.StringIO()
    write_teacher_statement_csv(teacher_statement(teacher=world["teacher"], month=MARCH, release=False), out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    figures = {row[0]: row[1] for row in rows if len(row) == 2}
    assert figures["Discounts funded by the platform"] == "300"
    assert figures["Gross sales (paid by learners)"] == "2000"
    assert figures["Refunds"] == "-400"


def test_wallet_statements_end_at_the_wallets(world):
    a, b, c, d = world["learners"]
    expected = {a.pk: 500, b.pk: 500, c.pk: 0, d.pk: 0}  # a and b were refunded what they paid
    for learner in (a, b, c, d):
        lines = list(wallet_statement(learner))
        last = lines[-1].balance if lines else 0
        assert last == wallet_of(learner).balance_tokens == expected[learner.pk]
