"""Statements read from the ledger: a teacher's month and a learner's wallet, as pages and CSV.

A teacher's monthly statement adds up the entries of the teacher's three accounts (pending,
available, payout hold) in the month, by transfer kind, and reads the purchases' other legs for
what learners paid (gross) and what the platform kept (commission). It reconciles by
construction and says so (``TeacherStatement.reconciles``):

    opening (pending + available + held) + net + adjustments - paid out = closing

and the closing balances of the current month are the teacher's balances
(``services.earnings.teacher_balances``). A learner's wallet statement is every entry of the
wallet with its running balance; its last running balance is the wallet's balance.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO

from django.db.models import Q, Sum
from django.utils import timezone

from tokenecon.models import (
    TEACHER_KINDS,
    AccountKind,
    EnrollmentStatus,
    Entry,
    Learner,
    Teacher,
    TransferKind,
)
from tokenecon.services.earnings import refund_window, release_due

# Cells a spreadsheet would read as a formula (CSV injection); text cells starting so get a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC (the platform's time zone)."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def parse_month(text: str | None, *, default: date | None = None) -> date:
    """``"2026-03"`` -> 2026-03-01; ``ValueError`` with a clear message otherwise."""
    if not text:
        today = default or timezone.now().date()
        return today.replace(day=1)
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m")
    except ValueError:
        raise ValueError(f"A month is written YYYY-MM (for example 2026-03), not {text[:20]!r}.") from None
    if not 2000 <= parsed.year <= 2100:
        raise ValueError(f"A month between 2000 and 2100, not {parsed.year}.")
    return parsed.date()


@dataclass(frozen=True)
class Balances:
    pending: int = 0
    available: int = 0
    held: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.available + self.held


KIND_FIELD = {
    AccountKind.TEACHER_PENDING: "pending",
    AccountKind.TEACHER_EARNINGS: "available",
    AccountKind.TEACHER_PAYOUT_HOLD: "held",
}


def _balances(rows) -> Balances:
    by_field = {KIND_FIELD[kind]: total or 0 for kind, total in rows}
    return Balances(**by_field)


@dataclass(frozen=True)
class StatementLine:
    """One transfer of the month as it hit the teacher's accounts, with the balances after it."""

    created_at: datetime
    transfer_id: int
    kind: str
    memo: str
    change: Balances
    after: Balances


@dataclass(frozen=True)
class TeacherStatement:
    teacher: Teacher
    month: date
    opening: Balances
    closing: Balances
    gross_sales: int
    commission: int
    platform_funded: int
    earned: int
    refunds: int
    releases: int
    payout_requests: int
    payout_returns: int
    paid_out: int
    adjustments: int
    sales_count: int
    refunds_count: int
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def net(self) -> int:
        return self.earned - self.refunds

    @property
    def reconciles(self) -> bool:
        return self.opening.total + self.net + self.adjustments - self.paid_out == self.closing.total

    def summary(self) -> list[tuple[str, int]]:
        """The statement's figures in reading order, for the page and the CSV."""
        rows = [
            ("Opening balance (pending + available + held)", self.opening.total),
            ("Gross sales (paid by learners)", self.gross_sales),
            ("Platform commission", -self.commission),
        ]
        if self.platform_funded:
            rows.append(("Discounts funded by the platform", self.platform_funded))
        rows += [
            ("Earned (your share of sales)", self.earned),
            ("Refunds", -self.refunds),
            ("Net earnings", self.net),
        ]
        if self.adjustments:
            rows.append(("Adjustments", self.adjustments))
        rows += [
            ("Paid out", -self.paid_out),
            ("Closing balance (pending + available + held)", self.closing.total),
            ("Released from pending to available", self.releases),
            ("Requested for payout (held)", self.payout_requests),
            ("Returned from rejected payout requests", self.payout_returns),
            ("Closing pending", self.closing.pending),
            ("Closing available", self.closing.available),
            ("Closing held for payout", self.closing.held),
        ]
        return rows


def teacher_statement(*, teacher: Teacher, month: date, release: bool = True) -> TeacherStatement:
    """The teacher's statement for ``month`` (any day of it), read from the ledger; with
    ``release`` what has cleared is released first, as on every page showing teacher money."""
    if release:
        release_due(teacher=teacher)
    start, end = month_bounds(month)
    mine = Entry.objects.filter(account__owner_id=teacher.user_id, account__kind__in=TEACHER_KINDS)
    opening = _balances(
        mine.filter(transfer__created_at__lt=start)
        .values("account__kind")
        .annotate(total=Sum("amount_tokens"))
        .values_list("account__kind", "total")
    )
    in_month = mine.filter(transfer__created_at__gte=start, transfer__created_at__lt=end)
    by_kind: dict[str, int] = defaultdict(int)
    for kind, account_kind, total in (
        in_month.values("transfer__kind", "account__kind")
        .annotate(total=Sum("amount_tokens"))
        .values_list("transfer__kind", "account__kind", "total")
    ):
        by_kind[(kind, account_kind)] = total or 0

    def moved(kind: str, account_kind: str | None = None) -> int:
        return sum(
            v for (k, a), v in by_kind.items() if k == kind and (account_kind is None or a == account_kind)
        )

    purchase_ids = in_month.filter(transfer__kind=TransferKind.PURCHASE).values("transfer_id")
    legs = Entry.objects.filter(transfer_id__in=purchase_ids).aggregate(
        paid=Sum("amount_tokens", filter=Q(account__kind=AccountKind.LEARNER_WALLET)),
        commission=Sum("amount_tokens", filter=Q(account__kind=AccountKind.PLATFORM_REVENUE)),
        funded=Sum("amount_tokens", filter=Q(account__kind=AccountKind.PLATFORM_TREASURY)),
    )
    known = {
        TransferKind.PURCHASE,
        TransferKind.REFUND,
        TransferKind.PAYOUT,
        TransferKind.RELEASE,
        TransferKind.PAYOUT_REQUEST,
        TransferKind.PAYOUT_RETURN,
    }
    lines = _statement_lines(in_month, opening)
    return TeacherStatement(
        teacher=teacher,
        month=start.date(),
        opening=opening,
        closing=lines[-1].after if lines else opening,
        gross_sales=-(legs["paid"] or 0),
        commission=legs["commission"] or 0,
        platform_funded=-(legs["funded"] or 0),
        earned=moved(TransferKind.PURCHASE),
        refunds=-moved(TransferKind.REFUND),
        releases=moved(TransferKind.RELEASE, AccountKind.TEACHER_EARNINGS),
        payout_requests=moved(TransferKind.PAYOUT_REQUEST, AccountKind.TEACHER_PAYOUT_HOLD),
        payout_returns=moved(TransferKind.PAYOUT_RETURN, AccountKind.TEACHER_EARNINGS),
        paid_out=-moved(TransferKind.PAYOUT),
        adjustments=sum(v for (k, _), v in by_kind.items() if k not in known),
        sales_count=len({t for t in purchase_ids.values_list("transfer_id", flat=True)}),
        refunds_count=in_month.filter(transfer__kind=TransferKind.REFUND)
        .values("transfer_id")
        .distinct()
        .count(),
        lines=lines,
    )


def _statement_lines(entries, opening: Balances) -> list[StatementLine]:
    running = {"pending": opening.pending, "available": opening.available, "held": opening.held}
    lines: list[StatementLine] = []
    rows = entries.order_by("transfer__created_at", "transfer_id", "id").values_list(
        "transfer_id",
        "transfer__created_at",
        "transfer__kind",
        "transfer__memo",
        "account__kind",
        "amount_tokens",
    )
    current: dict | None = None
    for transfer_id, created_at, kind, memo, account_kind, amount in rows:
        if current is None or current["id"] != transfer_id:
            if current is not None:
                lines.append(_line(current, running))
            current = {
                "id": transfer_id,
                "at": created_at,
                "kind": kind,
                "memo": memo,
                "change": defaultdict(int),
            }
        current["change"][KIND_FIELD[account_kind]] += amount
    if current is not None:
        lines.append(_line(current, running))
    return lines


def _line(current: dict, running: dict) -> StatementLine:
    for name, amount in current["change"].items():
        running[name] += amount
    return StatementLine(
        created_at=current["at"],
        transfer_id=current["id"],
        kind=current["kind"],
        memo=current["memo"],
        change=Balances(**current["change"]),
        after=Balances(**running),
    )


def statement_months(teacher: Teacher) -> list[date]:
    """Every month from the teacher's first ledger entry to this month, newest first."""
    first = (
        Entry.objects.filter(account__owner_id=teacher.user_id, account__kind__in=TEACHER_KINDS)
        .order_by("transfer__created_at")
        .values_list("transfer__created_at", flat=True)
        .first()
    )
    this_month = timezone.now().date().replace(day=1)
    month = first.date().replace(day=1) if first else this_month
    months = []
    while month <= this_month:
        months.append(month)
        month = month_bounds(month)[1].date()
    return months[::-1]


TEACHER_CSV_COLUMNS = (
    "date",
    "transfer_id",
    "kind",
    "memo",
    "pending_change",
    "available_change",
    "held_change",
    "pending",
    "available",
    "held",
)


def write_teacher_statement_csv(statement: TeacherStatement, stream: IO[str]) -> None:
    """The month's transfers with the three balances after each, between an opening and a closing
    row, then the summary figures (``figure,tokens``)."""
    writer = csv.writer(stream)
    writer.writerow(TEACHER_CSV_COLUMNS)
    o, c = statement.opening, statement.closing
    start, _ = month_bounds(statement.month)
    writer.writerow(
        [
            start.date().isoformat(),
            "",
            "opening",
            "Opening balance",
            "",
            "",
            "",
            o.pending,
            o.available,
            o.held,
        ]
    )
    for line in statement.lines:
        writer.writerow(
            [
                line.created_at.astimezone(UTC).isoformat(),
                line.transfer_id,
                line.kind,
                safe_text(line.memo),
                line.change.pending,
                line.change.available,
                line.change.held,
                line.after.pending,
                line.after.available,
                line.after.held,
            ]
        )
    writer.writerow(["", "", "closing", "Closing balance", "", "", "", c.pending, c.available, c.held])
    writer.writerow([])
    writer.writerow(["figure", "tokens"])
    for label, value in statement.summary():
        writer.writerow([label, value])


@dataclass(frozen=True)
class WalletLine:
    created_at: datetime
    transfer_id: int
    kind: str
    memo: str
    amount: int
    balance: int


def wallet_statement(learner: Learner) -> Iterator[WalletLine]:
    """Every entry of the learner's wallet, oldest first, with the running balance."""
    rows = (
        Entry.objects.filter(account__owner_id=learner.user_id, account__kind=AccountKind.LEARNER_WALLET)
        .order_by("transfer__created_at", "transfer_id", "id")
        .values_list(
            "transfer__created_at", "transfer_id", "transfer__kind", "transfer__memo", "amount_tokens"
        )
    )
    balance = 0
    for created_at, transfer_id, kind, memo, amount in rows.iterator(chunk_size=2000):
        balance += amount
        yield WalletLine(created_at, transfer_id, kind, memo, amount, balance)


WALLET_CSV_COLUMNS = ("date", "transfer_id", "kind", "memo", "amount_tokens", "balance_tokens")


def write_wallet_statement_csv(learner: Learner, stream: IO[str]) -> int:
    writer = csv.writer(stream)
    writer.writerow(WALLET_CSV_COLUMNS)
    count = 0
    for line in wallet_statement(learner):
        writer.writerow(
            [
                line.created_at.astimezone(UTC).isoformat(),
                line.transfer_id,
                line.kind,
                safe_text(line.memo),
                line.amount,
                line.balance,
            ]
        )
        count += 1
    return count


def next_release(teacher: Teacher) -> datetime | None:
    """When the teacher's oldest pending earnings clear (the end of its refund window)."""
    oldest = (
        Entry.objects.filter(
            account__owner_id=teacher.user_id,
            account__kind=AccountKind.TEACHER_PENDING,
            transfer__kind=TransferKind.PURCHASE,
            transfer__enrollment__released_at__isnull=True,
        )
        .exclude(transfer__enrollment__status=EnrollmentStatus.REFUNDED)
        .order_by("transfer__enrollment__enrolled_at")
        .values_list("transfer__enrollment__enrolled_at", flat=True)
        .first()
    )
    return oldest + refund_window() if oldest else None
