"""Payout requests: a teacher asks for part or all of their available earnings, staff decide.

- ``request_payout`` moves the tokens from the teacher's available account to their payout hold
  (a ``PAYOUT_REQUEST`` transfer keyed ``payout:<id>:hold``) and records the request with its
  money value. The request row and the hold are written in one transaction: the ledger's
  conditional ``UPDATE ... WHERE balance >= amount`` on the available account refuses a second
  concurrent request that would hold more than is available, and the whole transaction, request
  row included, rolls back. The client's key is scoped to the teacher (``<teacher id>:<key>``):
  the same key with the same amount returns the first request, with another amount it is an
  ``IdempotencyConflict`` (409), as Stripe's idempotency keys behave.
- ``approve_payout`` pays the hold out to the treasury (``PAYOUT``, ``payout:<id>:paid``; the
  tokens leave the economy) after the payout provider (``services.payout_providers``) has sent
  the money; ``reject_payout`` returns the hold to available (``PAYOUT_RETURN``,
  ``payout:<id>:returned``). Each locks the request row first, so a request is decided once:
  repeating the same decision replays it, the opposite decision is refused.

Every refusal is a ``PayoutRefused`` (400) with a precise message, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tokenecon.errors import IdempotencyConflict, InsufficientTokens, PayoutRefused, TokenEconomyError
from tokenecon.models import AccountKind, PayoutRequest, PayoutStatus, Teacher, TransferKind
from tokenecon.services.earnings import available_of, hold_of, release_due
from tokenecon.services.ledger import TransferSpec, platform_account, post_transfer_locked
from tokenecon.services.payout_providers import payout_provider
from tokenecon.services.rates import tokens_to_money

MAX_CLIENT_KEY = 100
MAX_REASON = 255


def minimum_tokens() -> int:
    return settings.TOKEN_PAYOUT_MIN_TOKENS


def hold_key(payout_id: int) -> str:
    return f"payout:{payout_id}:hold"


def paid_key(payout_id: int) -> str:
    return f"payout:{payout_id}:paid"


def returned_key(payout_id: int) -> str:
    return f"payout:{payout_id}:returned"


def scoped_key(teacher: Teacher, idempotency_key: str) -> str:
    return f"{teacher.pk}:{idempotency_key}"


def _check_amount(amount_tokens) -> int:
    if not isinstance(amount_tokens, int) or isinstance(amount_tokens, bool):
        raise PayoutRefused(f"A payout is a whole number of tokens, got {amount_tokens!r}.")
    if amount_tokens <= 0:
        raise PayoutRefused(f"A payout must be a positive number of tokens, got {amount_tokens}.")
    minimum = minimum_tokens()
    if amount_tokens < minimum:
        raise PayoutRefused(f"The minimum payout is {minimum:,} tokens; you asked for {amount_tokens:,}.")
    return amount_tokens


def _check_key(idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key:
        raise PayoutRefused("A payout request needs an idempotency key (the Idempotency-Key header).")
    if len(key) > MAX_CLIENT_KEY:
        raise PayoutRefused(f"An idempotency key is at most {MAX_CLIENT_KEY} characters; got {len(key)}.")
    return key


def _replay(existing: PayoutRequest, amount_tokens: int) -> PayoutRequest:
    if existing.amount_tokens != amount_tokens:
        raise IdempotencyConflict(
            f"This idempotency key was already used for payout request {existing.pk} of "
            f"{existing.amount_tokens:,} tokens, not {amount_tokens:,}."
        )
    return existing


def _insufficient(amount_tokens: int, available: int) -> PayoutRefused:
    return PayoutRefused(
        f"You asked for {amount_tokens:,} tokens but only {available:,} are available "
        "(pending earnings become available after the refund window)."
    )


def _replay_or_refuse(key: str, amount: int, refusal: PayoutRefused) -> PayoutRequest:
    """A retry racing its own first request can find the tokens gone because that request took
    them: it replays the first request then; a request of its own is refused."""
    existing = PayoutRequest.objects.filter(idempotency_key=key).first()
    if existing is None:
        raise refusal
    return _replay(existing, amount)


def request_payout(
    *, teacher: Teacher, amount_tokens: int, idempotency_key: str, at: datetime | None = None
) -> PayoutRequest:
    """Hold ``amount_tokens`` of the teacher's available earnings for a payout; see the module."""
    key = scoped_key(teacher, _check_key(idempotency_key))
    existing = PayoutRequest.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, amount_tokens)
    amount = _check_amount(amount_tokens)
    when = at or timezone.now()
    release_due(teacher=teacher, now=when)  # release on read: what has cleared is available
    available, hold = available_of(teacher), hold_of(teacher)
    if amount > available.balance_tokens:
        return _replay_or_refuse(key, amount, _insufficient(amount, available.balance_tokens))
    try:
        with transaction.atomic(durable=True):
            payout = PayoutRequest.objects.create(
                teacher=teacher,
                amount_tokens=amount,
                money_amount=tokens_to_money(amount),
                currency=settings.TOKEN_CURRENCY,
                idempotency_key=key,
                requested_at=when,
            )
            payout.hold_transfer = post_transfer_locked(
                TransferSpec(
                    kind=TransferKind.PAYOUT_REQUEST,
                    idempotency_key=hold_key(payout.pk),
                    legs=((available.pk, -amount), (hold.pk, amount)),
                    memo=f"Payout request {payout.pk}: {amount:,} tokens held for review",
                    created_at=when,
                )
            )
            payout.save(update_fields=["hold_transfer"])
            return payout
    except InsufficientTokens as exc:
        # Another request took the tokens between the check and the hold: nothing was written.
        return _replay_or_refuse(key, amount, _insufficient(amount, exc.balance_tokens))
    except IntegrityError:
        # The same key at the same moment: the first request won, this one replays it.
        existing = PayoutRequest.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _replay(existing, amount)


def _decided(payout: PayoutRequest) -> str:
    when = f" on {payout.decided_at:%Y-%m-%d %H:%M}" if payout.decided_at else ""
    return f"Payout request {payout.pk} was already {payout.get_status_display().lower()}{when}"


def approve_payout(
    payout: PayoutRequest, *, by, reference: str = "", at: datetime | None = None
) -> PayoutRequest:
    """Pay a requested payout: the provider sends the money, the hold returns to the treasury.
    Approving a paid request again returns it unchanged; approving a rejected one is refused."""
    when = at or timezone.now()
    with transaction.atomic(durable=True):
        locked = PayoutRequest.objects.select_for_update().select_related("teacher").get(pk=payout.pk)
        if locked.status == PayoutStatus.PAID:
            return locked
        if locked.status != PayoutStatus.REQUESTED:
            raise PayoutRefused(f"{_decided(locked)}; it cannot be approved.")
        provider = payout_provider()
        sent_reference = provider.send(locked, reference=reference)
        locked.settle_transfer = post_transfer_locked(
            TransferSpec(
                kind=TransferKind.PAYOUT,
                idempotency_key=paid_key(locked.pk),
                legs=(
                    (hold_of(locked.teacher).pk, -locked.amount_tokens),
                    (platform_account(AccountKind.PLATFORM_TREASURY).pk, locked.amount_tokens),
                ),
                memo=f"Payout {locked.pk} paid ({provider.name}, {sent_reference})",
                created_at=when,
            )
        )
        locked.status = PayoutStatus.PAID
        locked.provider = provider.name
        locked.provider_reference = sent_reference
        locked.decided_at = when
        locked.decided_by = by
        locked.save(
            update_fields=[
                "settle_transfer",
                "status",
                "provider",
                "provider_reference",
                "decided_at",
                "decided_by",
            ]
        )
        return locked


def reject_payout(payout: PayoutRequest, *, by, reason: str, at: datetime | None = None) -> PayoutRequest:
    """Return a requested payout's hold to the teacher's available balance, with a reason.
    Rejecting a rejected request again returns it unchanged; rejecting a paid one is refused."""
    reason = (reason or "").strip()
    if not reason:
        raise PayoutRefused("A rejection needs a reason the teacher will read.")
    if len(reason) > MAX_REASON:
        raise PayoutRefused(f"A rejection reason is at most {MAX_REASON} characters; got {len(reason)}.")
    when = at or timezone.now()
    with transaction.atomic(durable=True):
        locked = PayoutRequest.objects.select_for_update().select_related("teacher").get(pk=payout.pk)
        if locked.status == PayoutStatus.REJECTED:
            return locked
        if locked.status != PayoutStatus.REQUESTED:
            raise PayoutRefused(f"{_decided(locked)}; it cannot be rejected.")
        locked.settle_transfer = post_transfer_locked(
            TransferSpec(
                kind=TransferKind.PAYOUT_RETURN,
                idempotency_key=returned_key(locked.pk),
                legs=(
                    (hold_of(locked.teacher).pk, -locked.amount_tokens),
                    (available_of(locked.teacher).pk, locked.amount_tokens),
                ),
                memo=f"Payout request {locked.pk} rejected: {reason}",
                created_at=when,
            )
        )
        locked.status = PayoutStatus.REJECTED
        locked.reason = reason
        locked.decided_at = when
        locked.decided_by = by
        locked.save(update_fields=["settle_transfer", "status", "reason", "decided_at", "decided_by"])
        return locked


@dataclass(frozen=True)
class Decision:
    payout: PayoutRequest
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def approve_many(payouts: Iterable[PayoutRequest], *, by, reference: str = "") -> list[Decision]:
    """Approve each request on its own (staff's bulk approve): one refused request is reported
    and the others still go through. A shared reference gets the request id appended."""
    decisions = []
    for payout in payouts:
        ref = f"{reference.strip()}-{payout.pk}" if reference.strip() else ""
        try:
            decisions.append(Decision(approve_payout(payout, by=by, reference=ref)))
        except TokenEconomyError as exc:
            decisions.append(Decision(payout, str(exc)))
    return decisions


def requested_queue():
    """Requests waiting for a decision, oldest first (the staff queue)."""
    return (
        PayoutRequest.objects.filter(status=PayoutStatus.REQUESTED)
        .select_related("teacher__user")
        .order_by("requested_at", "id")
    )
