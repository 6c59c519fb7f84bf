"""Refunds by policy: who may refund an enrollment, when, and where the tokens come back from.

A learner may refund their own enrollment inside the refund window
(``TOKEN_REFUND_WINDOW_DAYS`` after the purchase) while their progress is below
``TOKEN_REFUND_MAX_PROGRESS_PCT``; anything else is a ``RefundRefused`` saying which rule failed.
Staff may refund any enrollment at any time.

Every refund reverses the purchase: the learner gets back what they paid (the coupon or offer
price, not the list price), the commission comes back from platform revenue, and a
platform-funded coupon's treasury leg goes back to the treasury. The teacher's share comes back
from where it is now:

- before the release (inside the window): from the teacher's *pending* earnings, where the
  purchase put it;
- after the release (staff only): from the teacher's *available* balance as far as it goes,
  never below zero, and the rest from the platform treasury (the platform absorbs what the
  teacher has already been paid out).

Race safety: the refund locks the enrollment row before it reads ``released_at``, as the release
does (``services.earnings``), so a refund racing the release of the same enrollment either
refunds from pending (and the release then skips the refunded enrollment) or sees it released
and follows the after-release rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from tokenecon.errors import NotRefundable, RefundRefused
from tokenecon.models import (
    Account,
    AccountKind,
    Enrollment,
    EnrollmentStatus,
    Learner,
    Transfer,
    TransferKind,
)
from tokenecon.services.earnings import refund_window
from tokenecon.services.ledger import (
    TransferSpec,
    account_for_user,
    existing_transfer,
    platform_account,
    post_transfer_locked,
    run_idempotent,
)

TEACHER_SHARE_KINDS = (AccountKind.TEACHER_PENDING, AccountKind.TEACHER_EARNINGS)


@dataclass(frozen=True)
class RefundEligibility:
    """Whether the learner may refund the enrollment themself now, and if not, why not."""

    allowed: bool
    reason: str
    window_ends_at: datetime
    refund_tokens: int


def learner_key(enrollment: Enrollment) -> str:
    """The idempotency key of a learner's own refund (the portal and the API share it, so a
    double submit from both refunds once)."""
    return f"refund:{enrollment.pk}"


def _day(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.day} {local:%B %Y}"


def learner_refund_eligibility(enrollment: Enrollment, *, now: datetime | None = None) -> RefundEligibility:
    """The policy for a learner's own refund, as a value a page can show."""
    when = now or timezone.now()
    ends = enrollment.enrolled_at + refund_window()
    days = settings.TOKEN_REFUND_WINDOW_DAYS
    limit = settings.TOKEN_REFUND_MAX_PROGRESS_PCT

    def refused(reason: str) -> RefundEligibility:
        return RefundEligibility(False, reason, ends, enrollment.price_paid_tokens)

    if enrollment.status == EnrollmentStatus.REFUNDED:
        return refused("This enrollment is already refunded.")
    if enrollment.price_paid_tokens == 0:
        return refused("Nothing to refund: you paid no tokens for this course.")
    if when >= ends:
        return refused(f"The {days}-day refund window ended on {_day(ends)}.")
    if enrollment.released_at is not None:
        return refused("The teacher has been paid for this enrollment; only staff can refund it now.")
    if enrollment.progress_pct >= limit:
        return refused(
            f"You have completed {enrollment.progress_pct}% of the course; "
            f"a refund is possible only below {limit}%."
        )
    return RefundEligibility(True, "", ends, enrollment.price_paid_tokens)


def split_teacher_share(*, share: int, available_tokens: int) -> tuple[int, int]:
    """(from the teacher's available balance, from the treasury) of a share refunded after the
    release: the teacher's balance as far as it goes, never below zero, the rest the platform's."""
    from_teacher = max(0, min(share, available_tokens))
    return from_teacher, share - from_teacher


def refund_legs(
    purchase_legs: Iterable[tuple[int, int]],
    *,
    kinds: dict[int, str],
    released: bool,
    available_id: int | None,
    available_tokens: int,
    treasury_id: int,
) -> tuple[tuple[int, int], ...]:
    """The refund of a purchase with legs ``purchase_legs`` (account id, amount).

    Every leg is reversed, except the teacher's share once released (or bought before pending
    earnings existed, when it went straight to available): that comes from ``available_id`` as far
    as ``available_tokens`` go and the rest from ``treasury_id``. Pure, so the CSV import and the
    simulator can apply the same rule to many refunds.
    """
    legs: list[tuple[int, int]] = []
    for account_id, amount in purchase_legs:
        kind = kinds[account_id]
        moved_on = kind == AccountKind.TEACHER_EARNINGS or (kind == AccountKind.TEACHER_PENDING and released)
        if kind in TEACHER_SHARE_KINDS and amount > 0 and moved_on:
            if available_id is None:
                raise ValueError("A released share is refunded from the teacher's available account.")
            from_teacher, from_platform = split_teacher_share(share=amount, available_tokens=available_tokens)
            legs += [(available_id, -from_teacher), (treasury_id, -from_platform)]
        else:
            legs.append((account_id, -amount))
    merged: dict[int, int] = {}
    for account_id, amount in legs:
        merged[account_id] = merged.get(account_id, 0) + amount
    return tuple((a, amt) for a, amt in sorted(merged.items()) if amt != 0)


def _refund_locked(
    locked: Enrollment, *, purchase: Transfer, idempotency_key: str, memo: str, at
) -> Transfer:
    entries = list(
        purchase.entries.values_list("account_id", "amount_tokens", "account__kind", "account__owner_id")
    )
    kinds = {account_id: kind for account_id, _, kind, _ in entries}
    teacher_owner = next((owner for _, _, kind, owner in entries if kind in TEACHER_SHARE_KINDS), None)
    released = locked.released_at is not None
    needs_available = any(
        kind == AccountKind.TEACHER_EARNINGS or (kind == AccountKind.TEACHER_PENDING and released)
        for _, amount, kind, _ in entries
        if amount > 0
    )
    available_id, available_tokens = None, 0
    treasury_id = platform_account(AccountKind.PLATFORM_TREASURY).pk
    if needs_available and teacher_owner is not None:
        available_id = account_for_user(user_id=teacher_owner, kind=AccountKind.TEACHER_EARNINGS).pk
        # Lock every account the refund may touch in primary-key order (as post_transfer_locked
        # updates them): the split below reads the available balance, which must not move under it.
        ids = sorted({*kinds, available_id, treasury_id})
        balances = dict(
            Account.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "balance_tokens")
        )
        available_tokens = balances[available_id]
        kinds.setdefault(available_id, AccountKind.TEACHER_EARNINGS)
    legs = refund_legs(
        ((a, amt) for a, amt, _, _ in entries),
        kinds=kinds,
        released=released,
        available_id=available_id,
        available_tokens=available_tokens,
        treasury_id=treasury_id,
    )
    return post_transfer_locked(
        TransferSpec(
            kind=TransferKind.REFUND,
            idempotency_key=idempotency_key,
            legs=legs,
            memo=memo[:255],
            created_at=at,
            enrollment_id=locked.pk,
            reverses_id=purchase.pk,
        )
    )


def refund_by_policy(
    *,
    enrollment: Enrollment,
    idempotency_key: str,
    staff: bool,
    learner: Learner | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> Transfer:
    """Refund an enrollment under the policy (module docstring): ``staff`` at any time, else the
    ``learner`` who owns it, inside the window and below the progress threshold. All or nothing;
    a retry with the same key returns the first refund."""
    when = at or timezone.now()

    def write() -> Transfer:
        locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        # A racing retry with this key waited for the lock above while the first call refunded:
        # it replays that refund rather than calling the enrollment already refunded.
        replayed = existing_transfer(idempotency_key, kind=TransferKind.REFUND)
        if replayed is not None:
            return replayed
        if not staff and (learner is None or locked.learner_id != learner.pk):
            raise NotRefundable("Only the learner who bought the course, or staff, can refund it.")
        if locked.status == EnrollmentStatus.REFUNDED:
            raise NotRefundable(f"Enrollment {locked.pk} is already refunded.")
        if not staff:
            eligibility = learner_refund_eligibility(locked, now=when)
            if not eligibility.allowed:
                raise RefundRefused(eligibility.reason)
        purchase = Transfer.objects.filter(enrollment=locked, kind=TransferKind.PURCHASE).first()
        if purchase is None:
            raise NotRefundable(f"Enrollment {locked.pk} has no purchase to refund (no tokens were paid).")
        if Transfer.objects.filter(reverses=purchase).exists():
            raise NotRefundable(f"The purchase of enrollment {locked.pk} has already been reversed.")
        refund = _refund_locked(
            locked,
            purchase=purchase,
            idempotency_key=idempotency_key,
            memo=reason or f"Refund of enrollment {locked.pk}",
            at=when,
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


def learner_refund(*, learner: Learner, enrollment: Enrollment, at: datetime | None = None) -> Transfer:
    """A learner refunding their own enrollment (portal and API), under the learner rules."""
    return refund_by_policy(
        enrollment=enrollment,
        idempotency_key=learner_key(enrollment),
        staff=False,
        learner=learner,
        reason=f"Refund requested by the learner for enrollment {enrollment.pk}",
        at=at,
    )


def staff_refund(
    *, enrollment: Enrollment, idempotency_key: str, reason: str = "", at: datetime | None = None
) -> Transfer:
    """A refund by staff (admin, API), at any time, under the after-release rule when released."""
    return refund_by_policy(
        enrollment=enrollment, idempotency_key=idempotency_key, staff=True, reason=reason, at=at
    )
