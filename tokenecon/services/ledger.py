"""Posting balanced transfers to the token ledger.

One transfer (``post_transfer_locked``) writes its transfer and entry rows first and then moves
each balance with one ``UPDATE ... SET balance = balance + delta`` in primary-key order; a debit
of an account that may not go negative carries ``WHERE balance >= amount``, and a row count of
zero aborts the transfer. The UPDATE itself takes the row lock, so two concurrent spends of the
same tokens cannot both pass, rows are locked in one global order (no deadlocks), and a credited
row (the one platform revenue account every purchase pays into) is locked only from its UPDATE
to the commit, never read first. SQLite serialises writers instead. The database check
constraint on ``Account`` is the last line of defence.

The bulk path (``post_transfers_bulk``) locks every account it touches with
``select_for_update()`` in primary-key order, since it checks running balances in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from tokenecon.errors import IdempotencyConflict, InsufficientTokens, InvalidAmount
from tokenecon.models import Account, AccountKind, Entry, Transfer
from tokenecon.models.ledger import NON_NEGATIVE_KINDS

T = TypeVar("T")


@dataclass(frozen=True)
class TransferSpec:
    """A transfer to post: legs are (account id, signed amount) pairs that sum to zero."""

    kind: str
    idempotency_key: str
    legs: tuple[tuple[int, int], ...]
    memo: str = ""
    created_at: datetime | None = None
    enrollment_id: int | None = None
    reverses_id: int | None = None
    coupon_id: int | None = None
    extra: dict = field(default_factory=dict, compare=False)


def platform_account(kind: str) -> Account:
    account, _ = Account.objects.get_or_create(kind=kind, owner=None)
    return account


def account_for_user(*, user_id: int, kind: str) -> Account:
    account, _ = Account.objects.get_or_create(kind=kind, owner_id=user_id)
    return account


def _normalise_legs(legs: Iterable[tuple[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = defaultdict(int)
    for account_id, amount in legs:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise InvalidAmount(f"Token amounts are whole numbers, got {amount!r}.")
        merged[account_id] += amount
    merged = {a: amt for a, amt in merged.items() if amt != 0}
    if sum(merged.values()) != 0:
        raise InvalidAmount("The entries of a transfer must sum to zero.")
    if len(merged) < 2:
        raise InvalidAmount("A transfer moves tokens between at least two accounts.")
    return merged


def _label(account: Account) -> str:
    if account.kind == AccountKind.LEARNER_WALLET:
        return "the wallet"
    if account.kind == AccountKind.TEACHER_EARNINGS:
        return "the teacher's available earnings"
    if account.kind == AccountKind.TEACHER_PENDING:
        return "the teacher's pending earnings"
    if account.kind == AccountKind.TEACHER_PAYOUT_HOLD:
        return "the teacher's payout hold"
    return account.get_kind_display()


def _lock_accounts(account_ids: Iterable[int]) -> dict[int, Account]:
    ids = sorted(set(account_ids))
    locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    missing = set(ids) - locked.keys()
    if missing:
        raise InvalidAmount(f"Unknown account ids: {sorted(missing)}.")
    return locked


def _insufficient_or_unknown(account_id: int, delta: int) -> Exception:
    """Why a balance UPDATE matched no row: the account is unknown or cannot cover the debit."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return InvalidAmount(f"Unknown account ids: [{account_id}].")
    return InsufficientTokens(
        account_label=_label(account), needed_tokens=-delta, balance_tokens=account.balance_tokens
    )


def _apply_deltas(deltas: dict[int, int]) -> None:
    """Move balances in primary-key order; a debit of a non-negative account applies only while
    the balance covers it (checked by the UPDATE, so no read and no separate lock)."""
    for account_id, delta in sorted(deltas.items()):
        rows = Account.objects.filter(pk=account_id)
        if delta < 0:
            rows = rows.filter(Q(balance_tokens__gte=-delta) | ~Q(kind__in=NON_NEGATIVE_KINDS))
        if rows.update(balance_tokens=F("balance_tokens") + delta) != 1:
            raise _insufficient_or_unknown(account_id, delta)


def post_transfer_locked(spec: TransferSpec) -> Transfer:
    """Post one transfer inside the caller's transaction (which an error rolls back whole).
    Callers are services, not views."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("post_transfer_locked runs inside transaction.atomic().")
    legs = _normalise_legs(spec.legs)
    transfer = Transfer.objects.create(
        kind=spec.kind,
        idempotency_key=spec.idempotency_key,
        memo=spec.memo,
        created_at=spec.created_at or timezone.now(),
        enrollment_id=spec.enrollment_id,
        reverses_id=spec.reverses_id,
        coupon_id=spec.coupon_id,
    )
    Entry.objects.bulk_create(
        Entry(transfer=transfer, account_id=account_id, amount_tokens=amount)
        for account_id, amount in sorted(legs.items())
    )
    # Last, so the rows stay locked only from here to the commit.
    _apply_deltas(legs)
    return transfer


def existing_transfer(idempotency_key: str, *, kind: str) -> Transfer | None:
    transfer = Transfer.objects.filter(idempotency_key=idempotency_key).first()
    if transfer is not None and transfer.kind != kind:
        raise IdempotencyConflict(
            f"Idempotency key {idempotency_key!r} was already used for a {transfer.kind} transfer."
        )
    return transfer


def run_idempotent(
    *, idempotency_key: str, kind: str, write: Callable[[], T], replay: Callable[[Transfer], T]
) -> T:
    """Run ``write`` in a durable transaction once per key; later calls get ``replay(existing)``.

    Two racing calls with the same key: the loser's insert hits the unique key, its transaction
    rolls back whole, and it returns what the winner wrote.
    """
    if not idempotency_key:
        raise InvalidAmount("An idempotency key is required.")
    existing = existing_transfer(idempotency_key, kind=kind)
    if existing is not None:
        return replay(existing)
    try:
        with transaction.atomic(durable=True):
            return write()
    except IntegrityError:
        existing = existing_transfer(idempotency_key, kind=kind)
        if existing is None:
            raise
        return replay(existing)


def check_same_legs(transfer: Transfer, legs: Sequence[tuple[int, int]]) -> Transfer:
    stored = dict(transfer.entries.values_list("account_id", "amount_tokens"))
    if stored != _normalise_legs(legs):
        raise IdempotencyConflict(
            f"Idempotency key {transfer.idempotency_key!r} was already used for a different transfer."
        )
    return transfer


def post_transfers_bulk(specs: Sequence[TransferSpec], *, batch_size: int = 2000) -> list[Transfer]:
    """Post many transfers in one transaction with a handful of queries (imports, simulator).

    Same rules as one-by-one posting: every transfer balanced, keys unique (already-posted keys
    are skipped), and no non-negative account dips below zero at any point in the given order.
    All or nothing: one failing transfer rolls back the whole batch.
    """
    if not specs:
        return []
    with transaction.atomic():
        keys = [s.idempotency_key for s in specs]
        if len(set(keys)) != len(keys):
            raise IdempotencyConflict("The same idempotency key appears twice in one batch.")
        done = set(
            Transfer.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
        )
        todo = [s for s in specs if s.idempotency_key not in done]
        normalised = [_normalise_legs(s.legs) for s in todo]
        accounts = _lock_accounts({a for legs in normalised for a in legs})
        running = {a: acc.balance_tokens for a, acc in accounts.items()}
        for spec, legs in zip(todo, normalised, strict=True):
            for account_id, amount in legs.items():
                running[account_id] += amount
                account = accounts[account_id]
                if running[account_id] < 0 and account.kind in NON_NEGATIVE_KINDS:
                    raise InsufficientTokens(
                        account_label=f"{_label(account)} (transfer {spec.idempotency_key})",
                        needed_tokens=-amount,
                        balance_tokens=running[account_id] - amount,
                    )
        now = timezone.now()
        transfers = Transfer.objects.bulk_create(
            [
                Transfer(
                    kind=s.kind,
                    idempotency_key=s.idempotency_key,
                    memo=s.memo,
                    created_at=s.created_at or now,
                    enrollment_id=s.enrollment_id,
                    reverses_id=s.reverses_id,
                    coupon_id=s.coupon_id,
                )
                for s in todo
            ],
            batch_size=batch_size,
        )
        Entry.objects.bulk_create(
            (
                Entry(transfer_id=t.pk, account_id=account_id, amount_tokens=amount)
                for t, legs in zip(transfers, normalised, strict=True)
                for account_id, amount in sorted(legs.items())
            ),
            batch_size=batch_size,
        )
        changed = {a: running[a] for a in running if running[a] != accounts[a].balance_tokens}
        # One prepared UPDATE run per account: a CASE over thousands of ids is quadratic to plan.
        table = connection.ops.quote_name(Account._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET balance_tokens = %s WHERE id = %s",
                [(changed[a], a) for a in sorted(changed)],
            )
        return transfers
