"""Buying and refunding courses: one transaction moves the tokens and writes the enrollment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError
from django.utils import timezone

from tokenecon.errors import AlreadyEnrolled, IdempotencyConflict, NotRefundable
from tokenecon.models import (
    AccountKind,
    Course,
    Enrollment,
    EnrollmentStatus,
    Learner,
    Transfer,
    TransferKind,
)
from tokenecon.services.accounts import earnings_of, reverse_transfer_locked, wallet_of
from tokenecon.services.ledger import (
    TransferSpec,
    existing_transfer,
    platform_account,
    post_transfer_locked,
    run_idempotent,
)
from tokenecon.services.rates import discounted_price_tokens, split_commission


def purchase_legs(
    *, wallet_id: int, earnings_id: int, revenue_id: int, paid_tokens: int
) -> tuple[tuple[int, int], ...]:
    teacher_tokens, platform_tokens = split_commission(paid_tokens=paid_tokens)
    return ((wallet_id, -paid_tokens), (earnings_id, teacher_tokens), (revenue_id, platform_tokens))


def _replay_purchase(transfer: Transfer, *, learner: Learner, course: Course) -> Enrollment:
    enrollment = transfer.enrollment
    if enrollment is None or enrollment.learner_id != learner.pk or enrollment.course_id != course.pk:
        raise IdempotencyConflict(
            f"Idempotency key {transfer.idempotency_key!r} was already used for another purchase."
        )
    return enrollment


def purchase_course(
    *,
    learner: Learner,
    course: Course,
    idempotency_key: str,
    discount_pct: Decimal | int | str = 0,
    at: datetime | None = None,
    also: Callable[[Enrollment], None] | None = None,
) -> Enrollment:
    """Enroll a learner in a course, paying its (discounted) price from the wallet.

    All or nothing: the learner pays, the teacher is credited the price minus the commission,
    the platform the commission, and the enrollment is created. Raises ``InsufficientTokens``
    or ``AlreadyEnrolled`` and writes nothing when the purchase cannot happen. ``also`` runs in
    the same transaction after the purchase (redeeming an offer, say); if it raises, nothing
    happens at all.
    """
    when = at or timezone.now()
    discount = Decimal(str(discount_pct))
    paid = discounted_price_tokens(list_price_tokens=course.price_tokens, discount_pct=discount)
    wallet = wallet_of(learner)
    earnings = earnings_of(course.teacher)
    revenue = platform_account(AccountKind.PLATFORM_REVENUE)

    def write() -> Enrollment:
        if (
            Enrollment.objects.filter(learner=learner, course=course)
            .exclude(status=EnrollmentStatus.REFUNDED)
            .exists()
        ):
            raise AlreadyEnrolled(f"Already enrolled in {course.code}.")
        try:
            enrollment = Enrollment.objects.create(
                learner=learner,
                course=course,
                enrolled_at=when,
                list_price_tokens=course.price_tokens,
                price_paid_tokens=paid,
                discount_pct=discount,
            )
        except IntegrityError as exc:
            # A concurrent purchase of the same course won the race for the seat.
            raise AlreadyEnrolled(f"Already enrolled in {course.code}.") from exc
        post_transfer_locked(
            TransferSpec(
                kind=TransferKind.PURCHASE,
                idempotency_key=idempotency_key,
                legs=purchase_legs(
                    wallet_id=wallet.pk, earnings_id=earnings.pk, revenue_id=revenue.pk, paid_tokens=paid
                ),
                memo=f"{course.code} {course.title}"[:255],
                created_at=when,
                enrollment_id=enrollment.pk,
            )
        )
        if also is not None:
            also(enrollment)
        return enrollment

    return run_idempotent(
        idempotency_key=idempotency_key,
        kind=TransferKind.PURCHASE,
        write=write,
        replay=lambda existing: _replay_purchase(existing, learner=learner, course=course),
    )


def refund_enrollment(*, enrollment: Enrollment, idempotency_key: str, reason: str = "") -> Transfer:
    """Reverse an enrollment's purchase: every token goes back where it came from."""

    def write() -> Transfer:
        locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        # A racing retry with this key waited for the lock above while the first call refunded:
        # it replays that refund rather than calling the enrollment already refunded.
        replayed = existing_transfer(idempotency_key, kind=TransferKind.REFUND)
        if replayed is not None:
            return replayed
        if locked.status == EnrollmentStatus.REFUNDED:
            raise NotRefundable(f"Enrollment {locked.pk} is already refunded.")
        purchase = Transfer.objects.filter(enrollment=locked, kind=TransferKind.PURCHASE).first()
        if purchase is None:
            raise NotRefundable(f"Enrollment {locked.pk} has no purchase to refund.")
        refund = reverse_transfer_locked(
            transfer=purchase,
            idempotency_key=idempotency_key,
            kind=TransferKind.REFUND,
            memo=(reason or f"Refund of {locked.course_id}")[:255],
        )
        Enrollment.objects.filter(pk=locked.pk).update(status=EnrollmentStatus.REFUNDED)
        enrollment.status = EnrollmentStatus.REFUNDED
        return refund

    return run_idempotent(
        idempotency_key=idempotency_key,
        kind=TransferKind.REFUND,
        write=write,
        replay=lambda existing: existing,
    )
