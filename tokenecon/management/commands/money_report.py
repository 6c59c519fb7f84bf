"""Teacher money of the whole world, reconciled with the ledger (issue 16's closing figures).

    python manage.py money_report            # per teacher and platform totals, then the checks
    python manage.py money_report --top 10   # only the ten teachers who earned most (totals: all)

For every teacher: pending, available, held, paid, earned and refunded from the ledger
(``services.earnings.teacher_balances``) and whether the identity pending + available + held +
paid = earned - refunded holds; and their monthly statements (``services.statements``) added up
over every month: each month reconciles, each month opens where the previous one closed, the last
closing equals the balances, and the months' earned, refunds and paid out equal the ledger's.
Then the platform: gross sales, commission, platform-funded discounts, coupon redemptions (free
ones included), refunds and payouts, and whether all balances sum to zero with no learner or
teacher account negative. Read-only (nothing is released: it reports the ledger as it is). Exits
with an error when anything does not reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q, Sum

from tokenecon.models import (
    TEACHER_KINDS,
    Account,
    AccountKind,
    Enrollment,
    Entry,
    PayoutRequest,
    PayoutStatus,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.services.earnings import TeacherBalances, teacher_balances
from tokenecon.services.statements import statement_months, teacher_statement

FIGURES = ("pending", "available", "held", "paid", "earned", "refunded")


@dataclass
class TeacherLine:
    teacher: Teacher
    balances: TeacherBalances
    months: int
    gross: int
    commission: int
    platform_funded: int
    statements_reconcile: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.balances.identity_holds and self.statements_reconcile and not self.problems


def teacher_line(teacher: Teacher) -> TeacherLine:
    """The teacher's balances and every monthly statement of theirs, checked against each other."""
    balances = teacher_balances(teacher, release=False)
    statements = [
        teacher_statement(teacher=teacher, month=m, release=False) for m in statement_months(teacher)[::-1]
    ]
    problems = []
    if not balances.identity_holds:
        problems.append("identity does not hold")
    if not all(s.reconciles for s in statements):
        problems.append("a month does not reconcile")
    if any(
        after.opening != before.closing for before, after in zip(statements, statements[1:], strict=False)
    ):
        problems.append("a month does not open where the previous one closed")
    if statements:
        last = statements[-1].closing
        if (last.pending, last.available, last.held) != (balances.pending, balances.available, balances.held):
            problems.append("the last closing differs from the balances")
    for label, figure, ledger in (
        ("earned", sum(s.earned for s in statements), balances.earned),
        ("refunds", sum(s.refunds for s in statements), balances.refunded),
        ("paid out", sum(s.paid_out for s in statements), balances.paid),
    ):
        if figure != ledger:
            problems.append(f"statements' {label} {figure} != ledger's {ledger}")
    adjustments = sum(s.adjustments for s in statements)
    if adjustments:
        problems.append(f"adjustments of {adjustments} outside the identity")
    return TeacherLine(
        teacher=teacher,
        balances=balances,
        months=len(statements),
        gross=sum(s.gross_sales for s in statements),
        commission=sum(s.commission for s in statements),
        platform_funded=sum(s.platform_funded for s in statements),
        statements_reconcile=not problems,
        problems=problems,
    )


@dataclass
class Report:
    teachers: list[TeacherLine]
    platform: dict[str, int]
    ledger_total: int
    negative_accounts: int
    unbalanced_transfers: int

    def totals(self) -> dict[str, int]:
        out = {name: sum(getattr(t.balances, name) for t in self.teachers) for name in FIGURES}
        out |= {
            name: sum(getattr(t, name) for t in self.teachers)
            for name in ("gross", "commission", "platform_funded")
        }
        return out

    @property
    def ok(self) -> bool:
        return (
            all(t.ok for t in self.teachers)
            and self.ledger_total == 0
            and self.negative_accounts == 0
            and self.unbalanced_transfers == 0
        )


def _platform_figures() -> dict[str, int]:
    balance = dict(
        Account.objects.filter(
            kind__in=(AccountKind.PLATFORM_REVENUE, AccountKind.PLATFORM_TREASURY, AccountKind.LEARNER_WALLET)
        )
        .values("kind")
        .annotate(total=Sum("balance_tokens"))
        .values_list("kind", "total")
    )
    enrollments = Enrollment.objects.aggregate(
        with_coupon=Count("pk", filter=Q(coupon__isnull=False)),
        free_coupon=Count("pk", filter=Q(coupon__isnull=False, price_paid_tokens=0)),
        released=Count("pk", filter=Q(released_at__isnull=False)),
        total=Count("pk"),
    )
    transfers = dict(Transfer.objects.values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    payouts = PayoutRequest.objects.aggregate(
        paid=Count("pk", filter=Q(status=PayoutStatus.PAID)),
        paid_tokens=Sum("amount_tokens", filter=Q(status=PayoutStatus.PAID)),
        requested=Count("pk", filter=Q(status=PayoutStatus.REQUESTED)),
        rejected=Count("pk", filter=Q(status=PayoutStatus.REJECTED)),
    )
    return {
        "learner wallets": balance.get(AccountKind.LEARNER_WALLET, 0) or 0,
        "platform revenue": balance.get(AccountKind.PLATFORM_REVENUE, 0) or 0,
        "platform treasury": balance.get(AccountKind.PLATFORM_TREASURY, 0) or 0,
        "enrollments": enrollments["total"],
        "enrollments released": enrollments["released"],
        "coupon redemptions": enrollments["with_coupon"],
        "of them 100% (nothing moved)": enrollments["free_coupon"],
        "purchase transfers": transfers.get(TransferKind.PURCHASE, 0),
        "release transfers": transfers.get(TransferKind.RELEASE, 0),
        "refund transfers": transfers.get(TransferKind.REFUND, 0),
        "payout requests paid": payouts["paid"],
        "tokens paid out (requests)": payouts["paid_tokens"] or 0,
        "payout requests waiting": payouts["requested"],
        "payout requests rejected": payouts["rejected"],
    }


def build_report() -> Report:
    teachers = Teacher.objects.filter(
        user_id__in=Account.objects.filter(kind__in=TEACHER_KINDS).values("owner_id")
    ).select_related("user")
    lines = [teacher_line(t) for t in teachers.order_by("pk")]
    unbalanced = (
        Entry.objects.values("transfer").annotate(total=Sum("amount_tokens")).filter(~Q(total=0)).count()
    )
    return Report(
        teachers=lines,
        platform=_platform_figures(),
        ledger_total=Account.objects.aggregate(total=Sum("balance_tokens"))["total"] or 0,
        negative_accounts=Account.objects.filter(balance_tokens__lt=0)
        .exclude(kind=AccountKind.PLATFORM_TREASURY)
        .count(),
        unbalanced_transfers=unbalanced,
    )


def _mark(ok: bool) -> str:
    return "yes" if ok else "NO"


class Command(BaseCommand):
    help = "Every teacher's money and the platform's, statements reconciled with the ledger."

    def add_arguments(self, parser):
        parser.add_argument(
            "--top", type=int, default=0, help="List only the N teachers who earned most (0: all)"
        )

    def handle(self, *args, **options):
        report = build_report()
        write = self.stdout.write
        header = ["teacher", *FIGURES, "months", "identity", "statements"]
        write("  ".join(f"{h:>12}" for h in header))
        shown = sorted(report.teachers, key=lambda t: (-t.balances.earned, t.teacher.pk))
        if options["top"]:
            shown = shown[: options["top"]]
        for line in shown:
            values = [getattr(line.balances, name) for name in FIGURES]
            cells = [line.teacher.user.username[:12], *(f"{v:,}" for v in values), str(line.months)]
            cells += [_mark(line.balances.identity_holds), _mark(line.statements_reconcile)]
            write("  ".join(f"{c:>12}" for c in cells))
            for problem in line.problems:
                write(f"{'':>12}  {problem}")
        totals = report.totals()
        cells = [f"all {len(report.teachers)}", *(f"{totals[name]:,}" for name in FIGURES)]
        write("  ".join(f"{c:>12}" for c in cells))
        identity = totals["pending"] + totals["available"] + totals["held"] + totals["paid"]
        write(
            f"\nTeachers: pending + available + held + paid = {identity:,}; earned - refunded = "
            f"{totals['earned'] - totals['refunded']:,}"
        )
        adds_up = totals["earned"] == totals["gross"] - totals["commission"] + totals["platform_funded"]
        write(
            f"Statements: gross sales {totals['gross']:,}, commission {totals['commission']:,}, "
            f"platform-funded discounts {totals['platform_funded']:,}, earned {totals['earned']:,} "
            f"(= gross - commission + platform-funded: "
            f"{_mark(adds_up)})"
        )
        write("Platform:")
        for label, value in report.platform.items():
            write(f"  {label:<30} {value:>14,}")
        write(f"Ledger: all balances sum to {report.ledger_total:,}")
        write(f"Ledger: learner or teacher accounts below zero: {report.negative_accounts}")
        write(f"Ledger: transfers whose entries do not sum to zero: {report.unbalanced_transfers}")
        failing = sum(not t.ok for t in report.teachers)
        write(f"Every teacher's identity holds and statements reconcile: {_mark(failing == 0)}")
        if not report.ok:
            raise CommandError(f"Money does not reconcile ({failing} teacher(s); see above).")
        write(self.style.SUCCESS("Everything reconciles."))
