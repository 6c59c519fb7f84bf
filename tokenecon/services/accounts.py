"""Wallet and earnings movements: top-ups, rewards, payouts, adjustments and reversals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from tokenecon.errors import InvalidAmount, NotRefundable, TopUpLimitExceeded
from tokenecon.models import Account, AccountKind, Entry, Learner, Teacher, Transfer, TransferKind
from tokenecon.services.ledger import (
    TransferSpec,
    account_for_user,
    check_same_legs,
    platform_account,
    post_transfer_locked,
    run_idempotent,
)


def wallet_of(learner: Learner) -> Account:
    return account_for_user(user_id=learner.user_id, kind=AccountKind.LEARNER_WALLET)


def earnings_of(teacher: Teacher) -> Account:
    return account_for_user(user_id=teacher.user_id, kind=AccountKind.TEACHER_EARNINGS)


def _positive(amount_tokens: int) -> int:
    if not isinstance(amount_tokens, int) or isinstance(amount_tokens, bool) or amount_tokens <= 0:
        raise InvalidAmount(f"amount_tokens must be a positive whole number, got {amount_tokens!r}.")
    return amount_tokens


def _simple_transfer(
    *,
    kind: str,
    source: Account,
    destination: Account,
    amount_tokens: int,
    idempotency_key: str,
    memo: str,
    at: datetime | None,
    check: Callable[[int], None] | None = None,
) -> Transfer:
    """Post a two-leg transfer once per key; ``check(amount)`` runs first with both balance rows
    locked, and may refuse with a domain error (nothing is written then)."""
    amount = _positive(amount_tokens)
    legs = ((source.pk, -amount), (destination.pk, amount))
    spec = TransferSpec(kind=kind, idempotency_key=idempotency_key, legs=legs, memo=memo, created_at=at)

    def write() -> Transfer:
        if check is not None:
            # Primary-key order, as post_transfer_locked takes the rows: no deadlock with it.
            list(
                Account.objects.select_for_update().filter(pk__in=[source.pk, destination.pk]).order_by("pk")
            )
            check(amount)
        return post_transfer_locked(spec)

    return run_idempotent(
        idempotency_key=idempotency_key,
        kind=kind,
        write=write,
        replay=lambda existing: check_same_legs(existing, legs),
    )


TOP_UP_WINDOW = timedelta(hours=24)


def topped_up_recently(wallet: Account, *, now: datetime) -> int:
    """Tokens that top-ups of any origin put into the wallet in the 24 hours before ``now``."""
    entries = Entry.objects.filter(
        account=wallet,
        transfer__kind=TransferKind.TOP_UP,
        transfer__created_at__gt=now - TOP_UP_WINDOW,
        amount_tokens__gt=0,
    )
    return entries.aggregate(total=Sum("amount_tokens"))["total"] or 0


def check_top_up_limits(*, wallet: Account, amount_tokens: int, now: datetime) -> None:
    """Refuse a learner's own top-up over the per-top-up or the 24-hour cap. Called with the
    wallet row locked, so two top-ups at once cannot both fit under the same remaining allowance."""
    per_top_up = settings.TOKEN_TOP_UP_MAX_TOKENS
    if amount_tokens > per_top_up:
        raise TopUpLimitExceeded(
            f"A top-up is at most {per_top_up:,} tokens; you asked for {amount_tokens:,}."
        )
    daily = settings.TOKEN_TOP_UP_DAILY_MAX_TOKENS
    remaining = max(daily - topped_up_recently(wallet, now=now), 0)
    if amount_tokens > remaining:
        raise TopUpLimitExceeded(
            f"You can buy at most {daily:,} tokens in 24 hours; {remaining:,} more are possible now."
        )


def top_up_wallet(
    *,
    learner: Learner,
    amount_tokens: int,
    idempotency_key: str,
    memo: str = "",
    at: datetime | None = None,
    learner_initiated: bool = False,
) -> Transfer:
    """Issue tokens from the treasury into a learner's wallet (the learner bought them).

    ``learner_initiated=True`` is the learner's own purchase (the portal's wallet page, any
    future API for it): with no payment step yet it is capped per top-up and per 24 hours
    (``TOKEN_TOP_UP_MAX_TOKENS``, ``TOKEN_TOP_UP_DAILY_MAX_TOKENS``), a ``TopUpLimitExceeded``
    writing nothing; a retry of one that went through replays it even when the allowance is
    used up by then. Operators' funding (demo seeding, benchmarks) is not capped; the simulator
    and CSV import post their top-ups in bulk and never reach this function.
    """
    wallet = wallet_of(learner)
    return _simple_transfer(
        kind=TransferKind.TOP_UP,
        source=platform_account(AccountKind.PLATFORM_TREASURY),
        destination=wallet,
        amount_tokens=amount_tokens,
        idempotency_key=idempotency_key,
        memo=memo or "Token top-up",
        at=at,
        check=(
            (lambda amount: check_top_up_limits(wallet=wallet, amount_tokens=amount, now=timezone.now()))
            if learner_initiated
            else None
        ),
    )


def reward_learner(
    *, learner: Learner, amount_tokens: int, idempotency_key: str, memo: str = "", at: datetime | None = None
) -> Transfer:
    """Give a learner free tokens (a promotion, a completion bonus), issued by the treasury."""
    return _simple_transfer(
        kind=TransferKind.REWARD,
        source=platform_account(AccountKind.PLATFORM_TREASURY),
        destination=wallet_of(learner),
        amount_tokens=amount_tokens,
        idempotency_key=idempotency_key,
        memo=memo or "Reward",
        at=at,
    )


def pay_out_teacher(
    *, teacher: Teacher, amount_tokens: int, idempotency_key: str, memo: str = "", at: datetime | None = None
) -> Transfer:
    """Redeem a teacher's earned tokens for money: they return to the treasury."""
    return _simple_transfer(
        kind=TransferKind.PAYOUT,
        source=earnings_of(teacher),
        destination=platform_account(AccountKind.PLATFORM_TREASURY),
        amount_tokens=amount_tokens,
        idempotency_key=idempotency_key,
        memo=memo or "Payout",
        at=at,
    )


def reverse_transfer_locked(*, transfer: Transfer, idempotency_key: str, kind: str, memo: str) -> Transfer:
    if Transfer.objects.filter(reverses=transfer).exists():
        raise NotRefundable(f"Transfer {transfer.idempotency_key} has already been reversed.")
    if transfer.reverses_id is not None:
        raise NotRefundable("A reversal cannot itself be reversed; post a new transfer instead.")
    legs = tuple(
        (account_id, -amount)
        for account_id, amount in transfer.entries.values_list("account_id", "amount_tokens")
    )
    return post_transfer_locked(
        TransferSpec(
            kind=kind,
            idempotency_key=idempotency_key,
            legs=legs,
            memo=memo,
            enrollment_id=transfer.enrollment_id,
            reverses_id=transfer.pk,
        )
    )


def reverse_transfer(*, transfer: Transfer, idempotency_key: str, memo: str = "") -> Transfer:
    """Correct a mistaken transfer with an adjustment that moves every entry back."""
    return run_idempotent(
        idempotency_key=idempotency_key,
        kind=TransferKind.ADJUSTMENT,
        write=lambda: reverse_transfer_locked(
            transfer=transfer,
            idempotency_key=idempotency_key,
            kind=TransferKind.ADJUSTMENT,
            memo=memo or f"Reversal of {transfer.idempotency_key}",
        ),
        replay=lambda existing: existing,
    )


def adjust_balances(*, legs: tuple[tuple[Account, int], ...], idempotency_key: str, memo: str) -> Transfer:
    """Post a manual, balanced adjustment (staff corrections)."""
    raw = tuple((account.pk, amount) for account, amount in legs)
    spec = TransferSpec(kind=TransferKind.ADJUSTMENT, idempotency_key=idempotency_key, legs=raw, memo=memo)
    return run_idempotent(
        idempotency_key=idempotency_key,
        kind=TransferKind.ADJUSTMENT,
        write=lambda: post_transfer_locked(spec),
        replay=lambda existing: check_same_legs(existing, raw),
    )
