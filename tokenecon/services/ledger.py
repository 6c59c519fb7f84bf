"""Posting balanced transfers to the token ledger.

One transfer (``post_transfer_locked``) writes its transfer and entry rows and moves every
balance it touches with one UPDATE (``balance = balance + delta`` per row); a debit of an account
that may not go negative applies only while ``balance >= amount`` (checked per row by the UPDATE
on the row it locks), and fewer rows updated than legs aborts the transfer. On PostgreSQL that is
one statement: a data-modifying CTE that inserts the transfer and its entries and updates the
balances after locking the rows with ``SELECT ... ORDER BY id FOR UPDATE`` inside the statement,
so the rows are locked in one global order (primary key, as every other locking path here takes
them: no deadlocks), two concurrent spends of the same tokens cannot both pass, and a credited
row (the one platform revenue account every purchase pays into) is locked only from that
statement to the commit, never read first. SQLite serialises writers instead (the transfer, its
entries and one UPDATE). The database check constraint on ``Account`` is the last line of
defence.

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


def _failed_leg(legs: dict[int, int], moved: Iterable[int]) -> Exception:
    """The error for the first leg (in primary-key order) whose balance did not move."""
    missing = sorted(set(legs) - set(moved))
    return _insufficient_or_unknown(missing[0], legs[missing[0]])


def _quoted(model: type, *fields: str) -> tuple[str, ...]:
    quote = connection.ops.quote_name
    return (quote(model._meta.db_table), *(quote(model._meta.get_field(f).column) for f in fields))


def _post_postgresql(spec: TransferSpec, legs: dict[int, int], created_at: datetime) -> Transfer:
    """The transfer, its entries and every balance in one statement (one round trip).

    ``locked`` takes the rows' locks in primary-key order (a sort under the lock); the UPDATE
    touches only rows ``locked`` has returned, so it never waits for a lock itself, and its
    condition is checked on the newest version of each row (PostgreSQL re-checks an UPDATE's
    condition on a row changed since the statement began)."""
    account, a_id, a_kind, a_balance = _quoted(Account, "id", "kind", "balance_tokens")
    transfer_table, *transfer_cols = _quoted(
        Transfer, "kind", "idempotency_key", "memo", "created_at", "enrollment", "coupon", "reverses"
    )
    entry_table, e_transfer, e_account, e_amount = _quoted(Entry, "transfer", "account", "amount_tokens")
    t_id = connection.ops.quote_name(Transfer._meta.pk.column)
    ids = sorted(legs)
    amounts = [legs[a] for a in ids]
    sql = f"""
        WITH locked AS MATERIALIZED (
            SELECT {a_id} FROM {account} WHERE {a_id} = ANY(%(ids)s::bigint[]) ORDER BY {a_id} FOR UPDATE
        ), leg AS MATERIALIZED (
            SELECT * FROM unnest(%(ids)s::bigint[], %(amounts)s::bigint[]) AS leg(account_id, amount)
        ), moved AS (
            UPDATE {account} SET {a_balance} = {account}.{a_balance} + leg.amount
            FROM locked, leg
            WHERE {account}.{a_id} = locked.{a_id} AND {account}.{a_id} = leg.account_id
              AND (leg.amount > 0 OR {account}.{a_balance} >= -leg.amount
                   OR {account}.{a_kind} <> ALL(%(non_negative)s))
            RETURNING {account}.{a_id}
        ), transfer AS (
            INSERT INTO {transfer_table} ({", ".join(transfer_cols)})
            VALUES (%(kind)s, %(key)s, %(memo)s, %(created_at)s, %(enrollment)s, %(coupon)s, %(reverses)s)
            RETURNING {t_id}
        ), entries AS (
            INSERT INTO {entry_table} ({e_transfer}, {e_account}, {e_amount})
            SELECT transfer.{t_id}, leg.account_id, leg.amount FROM transfer, leg
        )
        SELECT (SELECT {t_id} FROM transfer), ARRAY(SELECT {a_id} FROM moved)
    """
    params = {
        "ids": ids,
        "amounts": amounts,
        "non_negative": [str(k) for k in NON_NEGATIVE_KINDS],
        "kind": spec.kind,
        "key": spec.idempotency_key,
        "memo": spec.memo,
        "created_at": created_at,
        "enrollment": spec.enrollment_id,
        "coupon": spec.coupon_id,
        "reverses": spec.reverses_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        transfer_id, moved = cursor.fetchone()
    if len(moved) != len(legs):
        raise _failed_leg(legs, moved)
    transfer = Transfer(
        pk=transfer_id,
        kind=spec.kind,
        idempotency_key=spec.idempotency_key,
        memo=spec.memo,
        created_at=created_at,
        enrollment_id=spec.enrollment_id,
        reverses_id=spec.reverses_id,
        coupon_id=spec.coupon_id,
    )
    transfer._state.adding = False
    transfer._state.db = connection.alias
    return transfer


def _apply_deltas(legs: dict[int, int]) -> None:
    """Every balance in one UPDATE (SQLite, where the writer holds the database lock): each row
    moves by its delta, a debit of a non-negative account only while the balance covers it."""
    account, a_id, a_kind, a_balance = _quoted(Account, "id", "kind", "balance_tokens")
    ids = sorted(legs)
    cases = " ".join("WHEN %s THEN %s" for _ in ids)
    debits = [a for a in ids if legs[a] < 0]
    kinds = ", ".join("%s" for _ in NON_NEGATIVE_KINDS)
    guard = " AND ".join(f"({a_id} <> %s OR {a_balance} >= %s OR {a_kind} NOT IN ({kinds}))" for _ in debits)
    sql = (
        f"UPDATE {account} SET {a_balance} = {a_balance} + CASE {a_id} {cases} END "
        f"WHERE {a_id} IN ({', '.join('%s' for _ in ids)})"
        + (f" AND {guard}" if guard else "")
        + f" RETURNING {a_id}"
    )
    params: list = [x for a in ids for x in (a, legs[a])] + ids
    for a in debits:
        params += [a, -legs[a], *(str(k) for k in NON_NEGATIVE_KINDS)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        moved = [row[0] for row in cursor.fetchall()]
    if len(moved) != len(legs):
        raise _failed_leg(legs, moved)


def post_transfer_locked(spec: TransferSpec) -> Transfer:
    """Post one transfer inside the caller's transaction (which an error rolls back whole).
    Callers are services, not views."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("post_transfer_locked runs inside transaction.atomic().")
    legs = _normalise_legs(spec.legs)
    created_at = spec.created_at or timezone.now()
    if connection.vendor == "postgresql":
        return _post_postgresql(spec, legs, created_at)
    transfer = Transfer.objects.create(
        kind=spec.kind,
        idempotency_key=spec.idempotency_key,
        memo=spec.memo,
        created_at=created_at,
        enrollment_id=spec.enrollment_id,
        reverses_id=spec.reverses_id,
        coupon_id=spec.coupon_id,
    )
    Entry.objects.bulk_create(
        Entry(transfer=transfer, account_id=account_id, amount_tokens=amount)
        for account_id, amount in sorted(legs.items())
    )
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
    *,
    idempotency_key: str,
    kind: str,
    write: Callable[[], T],
    replay: Callable[[Transfer], T],
    look_first: bool = True,
) -> T:
    """Run ``write`` in a durable transaction once per key; later calls get ``replay(existing)``.

    Two racing calls with the same key: the loser's insert hits the unique key, its transaction
    rolls back whole, and it returns what the winner wrote. ``look_first=False`` skips the read
    of the key before writing (one round trip less) for a ``write`` that inserts the key before
    anything outside the database happens: a used key is then found when its insert is refused.
    """
    if not idempotency_key:
        raise InvalidAmount("An idempotency key is required.")
    existing = existing_transfer(idempotency_key, kind=kind) if look_first else None
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
