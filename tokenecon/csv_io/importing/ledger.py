"""The ledger as the CSV files see it: token accounts made in bulk, transfers posted in batches,
and each wallet's funding (what the learners file carries as ``tokens_funded``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Sum

from tokenecon.csv_io.importing.engine import BATCH, chunked
from tokenecon.models import Account, AccountKind, Entry, Transfer, TransferKind
from tokenecon.services.ledger import TransferSpec, post_transfers_bulk

LEDGER_BATCH = 5000
READ_CHUNK = 5000
FUNDING_KINDS_EXCLUDED = (TransferKind.PURCHASE, TransferKind.REFUND)


def ensure_accounts(*, kind: str, user_ids: Iterable[int]) -> dict[int, int]:
    """Map user id to their account id of ``kind``, creating missing accounts in bulk."""
    wanted = sorted(set(user_ids))
    found: dict[int, int] = {}
    for chunk in chunked(wanted):
        found.update(Account.objects.filter(kind=kind, owner_id__in=chunk).values_list("owner_id", "pk"))
    missing = [u for u in wanted if u not in found]
    if missing:
        Account.objects.bulk_create([Account(kind=kind, owner_id=u) for u in missing], batch_size=BATCH)
        for chunk in chunked(missing):
            found.update(Account.objects.filter(kind=kind, owner_id__in=chunk).values_list("owner_id", "pk"))
    return found


def post_in_batches(specs: Sequence[TransferSpec]) -> int:
    """Post ``specs`` through the ledger in order, a batch at a time; return how many were posted."""
    return sum(len(post_transfers_bulk(chunk)) for chunk in chunked(specs, LEDGER_BATCH))


def transfers_of_enrollments(enrollment_ids: Sequence[int], *, kind: str) -> dict[int, Transfer]:
    """The transfer of ``kind`` of each enrollment that has one, by enrollment id."""
    found: dict[int, Transfer] = {}
    for chunk in chunked(enrollment_ids):
        for transfer in Transfer.objects.filter(enrollment_id__in=chunk, kind=kind):
            found[transfer.enrollment_id] = transfer
    return found


def legs_by_enrollment(transfers: Sequence[Transfer]) -> dict[int, list[tuple[int, int]]]:
    """The (account id, amount) legs of each transfer, by the transfer's enrollment id."""
    legs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    entries = Entry.objects.filter(transfer__in=list(transfers)).values_list(
        "transfer__enrollment_id", "account_id", "amount_tokens"
    )
    for enrollment_id, account_id, amount in entries:
        legs[enrollment_id].append((account_id, amount))
    return legs


def account_balances(account_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """Kind and balance in tokens of each account, by account id."""
    found: dict[int, tuple[str, int]] = {}
    for chunk in chunked(account_ids):
        for pk, kind, balance in Account.objects.filter(pk__in=chunk).values_list(
            "pk", "kind", "balance_tokens"
        ):
            found[pk] = (kind, balance)
    return found


def transfer_ids_by_key(keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunked(keys):
        found.update(Transfer.objects.filter(idempotency_key__in=chunk).values_list("idempotency_key", "pk"))
    return found


def first_refund_times() -> dict[int, datetime]:
    """First refund time per enrollment, in one pass (a correlated subquery is slow on SQLite)."""
    times: dict[int, datetime] = {}
    refunds = Transfer.objects.filter(kind=TransferKind.REFUND, enrollment__isnull=False).order_by(
        "-created_at"
    )
    for enrollment_id, created_at in refunds.values_list("enrollment_id", "created_at").iterator(READ_CHUNK):
        times[enrollment_id] = created_at
    return times


def wallet_funding_by_user() -> dict[int, int]:
    """Net tokens each learner's wallet received other than by purchases and refunds, by user id."""
    rows = (
        Entry.objects.filter(account__kind=AccountKind.LEARNER_WALLET)
        .exclude(transfer__kind__in=FUNDING_KINDS_EXCLUDED)
        .values("account__owner_id")
        .annotate(total=Sum("amount_tokens"))
        .values_list("account__owner_id", "total")
    )
    return dict(rows)
