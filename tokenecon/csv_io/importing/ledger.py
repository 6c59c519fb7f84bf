"""The ledger as the CSV files see it: token accounts made in bulk, transfers posted in batches,
and each wallet's funding (what the learners file carries as ``tokens_funded``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Sum

from tokenecon.csv_io.importing.engine import BATCH, chunked
from tokenecon.models import Account, AccountKind, Entry, TransferKind
from tokenecon.services.ledger import TransferSpec, post_transfers_bulk

LEDGER_BATCH = 5000
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
