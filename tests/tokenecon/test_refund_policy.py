"""Refunds by policy (services.refunds) and the release of earnings (services.earnings)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import CouponFactory, CourseFactory, EnrollmentFactory, LearnerFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import NotRefundable, RefundRefused
from tokenecon.models import Account, AccountKind, Enrollment, EnrollmentStatus, Transfer, TransferKind
from tokenecon.services.accounts import pay_out_teacher, top_up_wallet, wallet_of
from tokenecon.services.earnings import available_of, pending_of, release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course, refund_enrollment
from tokenecon.services.ledger import platform_account
from tokenecon.services.refunds import (
    learner_refund,
    learner_refund_eligibility,
    split_teacher_share,
    staff_refund,
)
from tokenecon.tasks import release_due_earnings

pytestmark = pytest.mark.django_db


def balance(account: Account) -> int:
    account.refresh_from_db()
    return account.balance_tokens


def treasury() -> int:
    return balance(platform_account(AccountKind.PLATFORM_TREASURY))


def revenue() -> int:
    return balance(platform_account(AccountKind.PLATFORM_REVENUE))


def bought(*, days_ago: float = 1, price: int = 100, **kwargs) -> Enrollment:
    learner = LearnerFactory()
    course = CourseFactory(price_tokens=price)
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key=f"t-{learner.pk}")
    return purchase_course(
        learner=learner,
        course=course,
        idempotency_key=f"p-{learner.pk}",
        at=timezone.now() - timedelta(days=days_ago),
        **kwargs,
    )


def assert_identity(enrollment: Enrollment) -> None:
    assert teacher_balances(enrollment.course.teacher, release=False).identity_holds
    assert sum(Account.objects.values_list("balance_tokens", flat=True)) == 0
    assert_ledger_consistent()


def test_a_learner_refund_inside_the_window_reverses_the_purchase_from_pending():
    enrollment = bought(days_ago=3)
    refund = learner_refund(learner=enrollment.learner, enrollment=enrollment)
    assert refund.kind == TransferKind.REFUND and refund.idempotency_key == f"refund:{enrollment.pk}"
    assert balance(wallet_of(enrollment.learner)) == 500
    assert balance(pending_of(enrollment.course.teacher)) == 0
    assert revenue() == 0
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.REFUNDED
    # A retry (double click, portal then API) returns the same refund.
    assert learner_refund(learner=enrollment.learner, enrollment=enrollment).pk == refund.pk
    assert_identity(enrollment)


def test_a_learner_refund_after_the_window_is_refused_with_the_date_and_writes_nothing():
    enrollment = bought(days_ago=settings.TOKEN_REFUND_WINDOW_DAYS + 1)
    ends = timezone.localtime(enrollment.enrolled_at + timedelta(days=settings.TOKEN_REFUND_WINDOW_DAYS))
    with pytest.raises(RefundRefused) as refused:
        learner_refund(learner=enrollment.learner, enrollment=enrollment)
    assert str(refused.value) == f"The 14-day refund window ended on {ends.day} {ends:%B %Y}."
    assert not Transfer.objects.filter(kind=TransferKind.REFUND).exists()
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_a_learner_refund_at_or_above_the_progress_threshold_is_refused():
    enrollment = bought(days_ago=2)
    Enrollment.objects.filter(pk=enrollment.pk).update(progress_pct=45)
    enrollment.refresh_from_db()
    with pytest.raises(
        RefundRefused, match=r"You have completed 45% of the course; a refund is possible only below 30%\."
    ):
        learner_refund(learner=enrollment.learner, enrollment=enrollment)
    Enrollment.objects.filter(pk=enrollment.pk).update(progress_pct=29)
    enrollment.refresh_from_db()
    learner_refund(learner=enrollment.learner, enrollment=enrollment)
    assert_identity(enrollment)


def test_another_learner_cannot_refund_and_a_refunded_enrollment_cannot_be_refunded_again():
    enrollment = bought()
    with pytest.raises(NotRefundable, match="Only the learner who bought the course"):
        learner_refund(learner=LearnerFactory(), enrollment=enrollment)
    staff_refund(enrollment=enrollment, idempotency_key="staff-1")
    with pytest.raises(NotRefundable, match="already refunded"):
        staff_refund(enrollment=enrollment, idempotency_key="staff-2")
    eligibility = learner_refund_eligibility(Enrollment.objects.get(pk=enrollment.pk))
    assert not eligibility.allowed and eligibility.reason == "This enrollment is already refunded."


def test_after_the_release_only_staff_refund_from_available_and_the_learner_is_told_so():
    enrollment = bought(days_ago=20)
    assert release_due() == 1
    enrollment.refresh_from_db()
    teacher = enrollment.course.teacher
    assert balance(available_of(teacher)) == 80 and balance(pending_of(teacher)) == 0
    before = treasury()
    refund = staff_refund(enrollment=enrollment, idempotency_key="staff")
    assert refund.reverses.kind == TransferKind.PURCHASE
    assert balance(available_of(teacher)) == 0
    assert treasury() == before  # the teacher's balance covered the whole share
    assert revenue() == 0 and balance(wallet_of(enrollment.learner)) == 500
    assert_identity(enrollment)


def test_a_staff_refund_after_a_payout_takes_what_the_teacher_has_and_the_platform_the_rest():
    enrollment = bought(days_ago=20)
    release_due()
    teacher = enrollment.course.teacher
    pay_out_teacher(teacher=teacher, amount_tokens=70, idempotency_key="out")
    before = treasury()
    refund_enrollment(enrollment=enrollment, idempotency_key="admin")  # the staff rules
    assert balance(available_of(teacher)) == 0  # 10 taken, never below zero
    assert treasury() == before - 70
    assert balance(wallet_of(enrollment.learner)) == 500
    assert_identity(enrollment)


@pytest.mark.parametrize(
    ("share", "available", "expected"), [(80, 100, (80, 0)), (80, 30, (30, 50)), (80, 0, (0, 80))]
)
def test_split_of_a_released_share(share, available, expected):
    assert split_teacher_share(share=share, available_tokens=available) == expected


def test_a_coupon_refund_returns_what_was_paid_and_the_platform_funded_part_to_the_treasury():
    coupon = CouponFactory(percent_off=Decimal("50"), funded_by="platform")
    course = coupon.course
    course.price_tokens = 100
    course.save()
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="t")
    before = treasury()
    enrollment = purchase_course(
        learner=learner,
        course=course,
        idempotency_key="p",
        paid_tokens=50,
        platform_funded=True,
        coupon_id=coupon.pk,
    )
    # The teacher is credited as at list price (80); the treasury pays 30 of it.
    assert balance(pending_of(course.teacher)) == 80 and treasury() == before - 30
    learner_refund(learner=learner, enrollment=enrollment)
    assert balance(wallet_of(learner)) == 500  # the 50 paid, not the list price
    assert balance(pending_of(course.teacher)) == 0
    assert treasury() == before and revenue() == 0
    assert_identity(enrollment)


def test_a_teacher_funded_coupon_refund_returns_the_coupon_price():
    enrollment = bought(days_ago=1, paid_tokens=70, coupon_id=CouponFactory().pk)
    learner_refund(learner=enrollment.learner, enrollment=enrollment)
    assert balance(wallet_of(enrollment.learner)) == 500
    assert_identity(enrollment)


def test_release_due_releases_in_bulk_once_and_never_a_refunded_enrollment():
    due = [bought(days_ago=15 + i) for i in range(5)]
    recent = bought(days_ago=2)
    refunded = bought(days_ago=16)
    staff_refund(enrollment=refunded, idempotency_key="r")
    assert release_due(batch=2) == 5  # several batches
    assert release_due() == 0
    for enrollment in due:
        enrollment.refresh_from_db()
        assert enrollment.released_at is not None
        assert Transfer.objects.get(idempotency_key=f"release:{enrollment.pk}").kind == TransferKind.RELEASE
        assert balance(available_of(enrollment.course.teacher)) == 80
    recent.refresh_from_db()
    refunded.refresh_from_db()
    assert recent.released_at is None and refunded.released_at is None
    assert balance(pending_of(recent.course.teacher)) == 80
    # After the window the recent one is released too, at the time given.
    later = timezone.now() + timedelta(days=13)
    assert release_due(now=later) == 1
    recent.refresh_from_db()
    assert recent.released_at == later
    assert_identity(recent)


def test_a_free_enrollment_is_released_at_once():
    # A 100% coupon enrolls with no transfer (the free purchase path writes the row like this).
    enrollment = EnrollmentFactory(
        enrolled_at=timezone.now(),
        price_paid_tokens=0,
        discount_pct=100,
        coupon=CouponFactory(percent_off=100),
    )
    assert release_due() == 1
    enrollment.refresh_from_db()
    assert enrollment.released_at is not None
    assert not Transfer.objects.filter(kind=TransferKind.RELEASE).exists()


def test_the_daily_beat_task_releases_what_is_due():
    bought(days_ago=30)
    assert release_due_earnings() == {"released": 1}
    assert (
        settings.CELERY_BEAT_SCHEDULE["tokenecon-release-due-earnings"]["task"]
        == "tokenecon.release_due_earnings"
    )


def test_teacher_balances_release_on_read():
    enrollment = bought(days_ago=15)
    balances = teacher_balances(enrollment.course.teacher)
    assert (balances.pending, balances.available, balances.earned) == (0, 80, 80)
    assert balances.identity_holds
