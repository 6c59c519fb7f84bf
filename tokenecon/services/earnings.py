"""A teacher's money: pending inside the refund window, then released to available.

Per teacher, at every moment: pending + available + held + paid = earned - refunded (to the
token), where earned is every purchase credit and refunded every refund debit of the teacher's
accounts, and paid is what approved payouts returned to the treasury. ``teacher_balances`` reads
all of it from the ledger; ``release_due`` moves every enrollment past the window, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from tokenecon.models import (
    TEACHER_KINDS,
    Account,
    AccountKind,
    Enrollment,
    EnrollmentStatus,
    Entry,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.services.ledger import TransferSpec, account_for_user, post_transfer_locked


def refund_window() -> timedelta:
    return timedelta(days=settings.TOKEN_REFUND_WINDOW_DAYS)


def pending_of(teacher: Teacher) -> Account:
    return account_for_user(user_id=teacher.user_id, kind=AccountKind.TEACHER_PENDING)


def available_of(teacher: Teacher) -> Account:
    return account_for_user(user_id=teacher.user_id, kind=AccountKind.TEACHER_EARNINGS)


def hold_of(teacher: Teacher) -> Account:
    return account_for_user(user_id=teacher.user_id, kind=AccountKind.TEACHER_PAYOUT_HOLD)


@dataclass(frozen=True)
class TeacherBalances:
    pending: int
    available: int
    held: int
    paid: int
    earned: int
    refunded: int

    @property
    def identity_holds(self) -> bool:
        return self.pending + self.available + self.held + self.paid == self.earned - self.refunded


def teacher_balances(teacher: Teacher, *, release: bool = True) -> TeacherBalances:
    """The teacher's balances from the ledger; with ``release`` (the default) whatever is due is
    released first, so a page never shows money as pending that has cleared."""
    if release:
        release_due(teacher=teacher)
    by_kind = dict(
        Account.objects.filter(owner_id=teacher.user_id, kind__in=TEACHER_KINDS).values_list(
            "kind", "balance_tokens"
        )
    )
    sums = Entry.objects.filter(account__owner_id=teacher.user_id, account__kind__in=TEACHER_KINDS).aggregate(
        earned=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.PURCHASE)),
        refunded=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.REFUND)),
        paid=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.PAYOUT)),
    )
    return TeacherBalances(
        pending=by_kind.get(AccountKind.TEACHER_PENDING, 0),
        available=by_kind.get(AccountKind.TEACHER_EARNINGS, 0),
        held=by_kind.get(AccountKind.TEACHER_PAYOUT_HOLD, 0),
        paid=-(sums["paid"] or 0),
        earned=sums["earned"] or 0,
        refunded=-(sums["refunded"] or 0),
    )


def _teacher_share_pending(enrollment: Enrollment) -> tuple[int, int] | None:
    """(pending account id, tokens) the enrollment's purchase put in pending, or None."""
    row = (
        Entry.objects.filter(
            transfer__enrollment_id=enrollment.pk,
            transfer__kind=TransferKind.PURCHASE,
            account__kind=AccountKind.TEACHER_PENDING,
        )
        .values_list("account_id", "amount_tokens")
        .first()
    )
    return row


def release_enrollment(enrollment: Enrollment, *, at: datetime | None = None) -> Transfer | None:
    """Move one enrollment's teacher share from pending to available, once (the key is the
    enrollment's). Refunded or already released enrollments are left alone; an enrollment with
    no pending share (a free one, or one bought before pending earnings existed) is only marked."""
    when = at or timezone.now()
    with transaction.atomic():
        locked = Enrollment.objects.select_for_update().filter(pk=enrollment.pk).first()
        if locked is None or locked.released_at is not None or locked.status == EnrollmentStatus.REFUNDED:
            return None
        share = _teacher_share_pending(locked)
        transfer = None
        if share is not None:
            pending_id, tokens = share
            available_id = account_for_user(
                user_id=Account.objects.values_list("owner_id", flat=True).get(pk=pending_id),
                kind=AccountKind.TEACHER_EARNINGS,
            ).pk
            transfer = post_transfer_locked(
                TransferSpec(
                    kind=TransferKind.RELEASE,
                    idempotency_key=f"release:{locked.pk}",
                    legs=((pending_id, -tokens), (available_id, tokens)),
                    memo=f"Refund window over for enrollment {locked.pk}",
                    created_at=when,
                    enrollment_id=locked.pk,
                )
            )
        Enrollment.objects.filter(pk=locked.pk).update(released_at=when)
        enrollment.released_at = when
        return transfer


def due_for_release(*, now: datetime | None = None, teacher: Teacher | None = None):
    cutoff = (now or timezone.now()) - refund_window()
    rows = Enrollment.objects.filter(released_at__isnull=True, enrolled_at__lte=cutoff).exclude(
        status=EnrollmentStatus.REFUNDED
    )
    if teacher is not None:
        rows = rows.filter(course__teacher=teacher)
    return rows


def release_due(*, now: datetime | None = None, teacher: Teacher | None = None) -> int:
    """Release every enrollment whose refund window has passed; returns how many were released.
    Safe to run any number of times and concurrently (each release locks its enrollment)."""
    count = 0
    for enrollment in due_for_release(now=now, teacher=teacher).only("pk").iterator():
        if release_enrollment(enrollment, at=now) is not None:
            count += 1
    return count
