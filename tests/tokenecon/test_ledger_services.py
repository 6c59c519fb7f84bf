from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CourseFactory, LearnerFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import (
    AlreadyEnrolled,
    IdempotencyConflict,
    InsufficientTokens,
    InvalidAmount,
    LedgerImmutable,
    NotRefundable,
)
from tokenecon.models import Account, AccountKind, Enrollment, EnrollmentStatus, Entry, Transfer, TransferKind
from tokenecon.services.accounts import (
    earnings_of,
    pay_out_teacher,
    reverse_transfer,
    reward_learner,
    top_up_wallet,
    wallet_of,
)
from tokenecon.services.earnings import pending_of, refund_window, release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course, refund_enrollment
from tokenecon.services.ledger import TransferSpec, platform_account, post_transfers_bulk
from tokenecon.services.rates import discounted_price_tokens, split_commission

pytestmark = pytest.mark.django_db


def balance(account: Account) -> int:
    account.refresh_from_db()
    return account.balance_tokens


def test_top_up_issues_tokens_from_the_treasury(learner):
    top_up_wallet(learner=learner, amount_tokens=250, idempotency_key="t-1")
    assert balance(wallet_of(learner)) == 250
    assert balance(platform_account(AccountKind.PLATFORM_TREASURY)) == -250
    assert_ledger_consistent()


def test_same_idempotency_key_twice_moves_tokens_once(learner):
    first = top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="same")
    second = top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="same")
    assert first.pk == second.pk
    assert balance(wallet_of(learner)) == 100
    assert Transfer.objects.count() == 1


def test_reused_key_with_different_amount_is_a_conflict(learner):
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        top_up_wallet(learner=learner, amount_tokens=999, idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        reward_learner(learner=learner, amount_tokens=100, idempotency_key="k")
    assert balance(wallet_of(learner)) == 100


@pytest.mark.parametrize("amount", [0, -5, 1.5, Decimal("2"), True])
def test_top_up_rejects_amounts_that_are_not_positive_whole_tokens(learner, amount):
    with pytest.raises(InvalidAmount):
        top_up_wallet(learner=learner, amount_tokens=amount, idempotency_key="bad")
    assert not Transfer.objects.exists()


def test_purchase_pays_teacher_minus_commission_and_platform_the_commission(learner, course):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="p")
    teacher_tokens, platform_tokens = split_commission(paid_tokens=100)
    assert (teacher_tokens, platform_tokens) == (80, 20)
    assert enrollment.price_paid_tokens == 100
    assert balance(wallet_of(learner)) == 400
    # The teacher's share is pending until the refund window has passed.
    assert balance(pending_of(course.teacher)) == 80
    assert balance(earnings_of(course.teacher)) == 0
    assert balance(platform_account(AccountKind.PLATFORM_REVENUE)) == 20
    purchase = Transfer.objects.get(kind=TransferKind.PURCHASE)
    assert purchase.enrollment_id == enrollment.pk
    assert_ledger_consistent()


def test_discounted_purchase_charges_the_discounted_price_rounded_up(learner):
    course = CourseFactory(price_tokens=99)
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="p", discount_pct=15)
    assert (
        enrollment.price_paid_tokens == 85 == discounted_price_tokens(list_price_tokens=99, discount_pct=15)
    )
    assert enrollment.list_price_tokens == 99
    assert enrollment.discount_pct == Decimal("15")
    assert balance(wallet_of(learner)) == 415
    assert balance(pending_of(course.teacher)) + balance(platform_account(AccountKind.PLATFORM_REVENUE)) == 85


def test_purchase_without_tokens_raises_and_writes_nothing(learner, course):
    top_up_wallet(learner=learner, amount_tokens=99, idempotency_key="t")
    with pytest.raises(InsufficientTokens, match="100 needed, 99 available"):
        purchase_course(learner=learner, course=course, idempotency_key="p")
    assert not Enrollment.objects.exists()
    assert Transfer.objects.count() == 1
    assert balance(wallet_of(learner)) == 99
    assert_ledger_consistent()


def test_learner_cannot_enroll_twice_in_the_same_course(learner, course):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    purchase_course(learner=learner, course=course, idempotency_key="p1")
    with pytest.raises(AlreadyEnrolled):
        purchase_course(learner=learner, course=course, idempotency_key="p2")
    assert balance(wallet_of(learner)) == 400


def test_purchase_retry_with_same_key_returns_the_same_enrollment(learner, course):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    first = purchase_course(learner=learner, course=course, idempotency_key="p")
    again = purchase_course(learner=learner, course=course, idempotency_key="p")
    assert first.pk == again.pk
    assert balance(wallet_of(learner)) == 400


def test_refund_reverses_every_entry_and_frees_the_seat(learner, course):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="p")
    refund = refund_enrollment(enrollment=enrollment, idempotency_key="r")
    assert refund.reverses.kind == TransferKind.PURCHASE
    assert balance(wallet_of(learner)) == 500
    assert balance(pending_of(course.teacher)) == 0
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.REFUNDED
    with pytest.raises(NotRefundable):
        refund_enrollment(enrollment=enrollment, idempotency_key="r2")
    purchase_course(learner=learner, course=course, idempotency_key="p-again")
    assert_ledger_consistent()


def test_staff_refund_after_release_and_payout_takes_the_rest_from_the_treasury(learner, course):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    enrollment = purchase_course(learner=learner, course=course, idempotency_key="p")
    assert release_due(now=enrollment.enrolled_at + refund_window()) == 1
    pay_out_teacher(teacher=course.teacher, amount_tokens=50, idempotency_key="out")
    treasury = balance(platform_account(AccountKind.PLATFORM_TREASURY))
    refund_enrollment(enrollment=enrollment, idempotency_key="r")
    # The teacher's 30 left are taken (never below zero), the platform pays the other 50.
    assert balance(earnings_of(course.teacher)) == 0
    assert balance(platform_account(AccountKind.PLATFORM_TREASURY)) == treasury - 50
    assert balance(wallet_of(learner)) == 500
    assert teacher_balances(course.teacher, release=False).identity_holds
    assert_ledger_consistent()


def test_payout_cannot_exceed_earnings(teacher):
    with pytest.raises(InsufficientTokens):
        pay_out_teacher(teacher=teacher, amount_tokens=1, idempotency_key="out")


def test_reversal_of_a_top_up_restores_balances_and_cannot_repeat(learner):
    top_up = top_up_wallet(learner=learner, amount_tokens=70, idempotency_key="t")
    reverse_transfer(transfer=top_up, idempotency_key="fix")
    assert balance(wallet_of(learner)) == 0
    with pytest.raises(NotRefundable):
        reverse_transfer(transfer=top_up, idempotency_key="fix-2")
    assert_ledger_consistent()


def test_ledger_rows_refuse_update_and_delete(learner):
    transfer = top_up_wallet(learner=learner, amount_tokens=10, idempotency_key="t")
    entry = transfer.entries.first()
    transfer.memo = "changed"
    with pytest.raises(LedgerImmutable):
        transfer.save()
    with pytest.raises(LedgerImmutable):
        entry.delete()
    with pytest.raises(LedgerImmutable):
        Transfer.objects.all().update(memo="x")
    with pytest.raises(LedgerImmutable):
        Entry.objects.all().delete()
    assert Transfer.objects.get().memo != "changed"


def test_database_refuses_a_negative_learner_balance(learner):
    from django.db import IntegrityError, transaction

    wallet = wallet_of(learner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=wallet.pk).update(balance_tokens=-1)


def test_bulk_posting_checks_running_balances_and_is_all_or_nothing(learner):
    wallet = wallet_of(learner)
    treasury = platform_account(AccountKind.PLATFORM_TREASURY)
    revenue = platform_account(AccountKind.PLATFORM_REVENUE)
    specs = [
        TransferSpec(
            kind=TransferKind.TOP_UP, idempotency_key="b1", legs=((treasury.pk, -50), (wallet.pk, 50))
        ),
        TransferSpec(
            kind=TransferKind.ADJUSTMENT, idempotency_key="b2", legs=((wallet.pk, -60), (revenue.pk, 60))
        ),
    ]
    with pytest.raises(InsufficientTokens):
        post_transfers_bulk(specs)
    assert not Transfer.objects.exists()
    post_transfers_bulk(specs[:1])
    post_transfers_bulk(specs[:1])
    assert balance(wallet) == 50
    assert_ledger_consistent()


def test_bulk_posting_uses_a_bounded_number_of_queries(learner):
    wallet = wallet_of(learner)
    treasury = platform_account(AccountKind.PLATFORM_TREASURY)
    specs = [
        TransferSpec(
            kind=TransferKind.TOP_UP, idempotency_key=f"b{i}", legs=((treasury.pk, -1), (wallet.pk, 1))
        )
        for i in range(300)
    ]
    with CaptureQueriesContext(connection) as queries:
        post_transfers_bulk(specs)
    assert len(queries) < 20
    assert balance(wallet) == 300


def test_many_learners_purchases_keep_the_ledger_consistent(course):
    learners = LearnerFactory.create_batch(5)
    for i, person in enumerate(learners):
        top_up_wallet(learner=person, amount_tokens=100 + i, idempotency_key=f"t{i}")
        purchase_course(learner=person, course=course, idempotency_key=f"p{i}", discount_pct=i * 5)
    assert Enrollment.objects.count() == 5
    assert_ledger_consistent()
