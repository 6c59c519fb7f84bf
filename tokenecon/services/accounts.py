"""Wallet and earnings movements: top-ups, rewards, payouts, adjustments and reversals."""

from __future__ import annotations

from datetime import datetime

from tokenecon.errors import InvalidAmount, NotRefundable
from tokenecon.models import Account, AccountKind, Learner, Teacher, Transfer, TransferKind
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
) -> Transfer:
    amount = _positive(amount_tokens)
    legs = ((source.pk, -amount), (destination.pk, amount))
    spec = TransferSpec(kind=kind, idempotency_key=idempotency_key, legs=legs, memo=memo, created_at=at)
    return run_idempotent(
        idempotency_key=idempotency_key,
        kind=kind,
        write=lambda: post_transfer_locked(spec),
        replay=lambda existing: check_same_legs(existing, legs),
    )


def top_up_wallet(
    *, learner: Learner, amount_tokens: int, idempotency_key: str, memo: str = "", at: datetime | None = None
) -> Transfer:
    """Issue tokens from the treasury into a learner's wallet (the learner bought them)."""
    return _simple_transfer(
        kind=TransferKind.TOP_UP,
        source=platform_account(AccountKind.PLATFORM_TREASURY),
        destination=wallet_of(learner),
        amount_tokens=amount_tokens,
        idempotency_key=idempotency_key,
        memo=memo or "Token top-up",
        at=at,
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
