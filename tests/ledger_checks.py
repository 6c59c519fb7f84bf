"""Ledger invariants, checked with SQL aggregates so tests of any size can call them after every step."""

from django.db.models import F, Q, Sum

from tokenecon.models import Account, AccountKind, Entry


def assert_ledger_consistent() -> None:
    total = Account.objects.aggregate(total=Sum("balance_tokens"))["total"] or 0
    assert total == 0, f"balances sum to {total}, not zero"
    negative = Account.objects.filter(balance_tokens__lt=0).exclude(kind=AccountKind.PLATFORM_TREASURY)
    assert not negative.exists(), f"negative balances: {list(negative.values('kind', 'balance_tokens'))}"
    unbalanced = Entry.objects.values("transfer").annotate(total=Sum("amount_tokens")).filter(~Q(total=0))
    assert not unbalanced.exists(), f"transfers whose entries do not sum to zero: {list(unbalanced)}"
    drift = (
        Account.objects.annotate(entries_total=Sum("entries__amount_tokens"))
        .exclude(balance_tokens=0, entries_total__isnull=True)
        .exclude(balance_tokens=F("entries_total"))
    )
    assert not drift.exists(), f"balances that differ from their entries: {list(drift.values())}"
