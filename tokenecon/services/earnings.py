"""A teacher's money: pending inside the refund window, then released to available.

Per teacher, at every moment: pending + available + held + paid = earned - refunded (to the
token), where earned is every purchase credit and refunded every refund debit of the teacher's
accounts, and paid is what approved payouts returned to the treasury. ``teacher_balances`` reads
all of it from the ledger; ``release_due`` moves every enrollment past the window, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from tokenecon.models import (
    TEACHER_KINDS,
    Account,
    AccountKind,
    Enrollment,
    EnrollmentStatus,
    Entry,
    Teacher,
    TransferKind,
)
from tokenecon.services.ledger import (
    TransferSpec,
    account_for_user,
    post_transfers_bulk,
)


def refund_window() -> timedelta:
    return timedelta(days=settings.TOKEN_REFUND_WINDOW_DAYS)


def pending_of(teacher: Teacher) -> Account:
    return account_for_user(user_id=teacher.user_id, kind=AccountKind.TEACHER_PENDING)


def available_of(teacher: Teacher) -> Account:
    return account_for_user(user_id=teacher.user_id, kind=AccountKind.TEACHER_EARNINGS)


def hold_of(teacher: Teacher) -> Account:
    return account_for_user(user_id=teacher.user_id, kind=AccountKind.TEACHER_PAYOUT_HOLD)


@dataclass(frozen=True)
class TeacherBalances:
    pending: int
    available: int
    held: int
    paid: int
    earned: int
    refunded: int

    @property
    def identity_holds(self) -> bool:
        return self.pending + self.available + self.held + self.paid == self.earned - self.refunded


def teacher_balances(teacher: Teacher, *, release: bool = True) -> TeacherBalances:
    """The teacher's balances from the ledger; with ``release`` (the default) whatever is due is
    released first, so a page never shows money as pending that has cleared."""
    if release:
        release_due(teacher=teacher)
    by_kind = dict(
        Account.objects.filter(owner_id=teacher.user_id, kind__in=TEACHER_KINDS).values_list(
            "kind", "balance_tokens"
        )
    )
    sums = Entry.objects.filter(account__owner_id=teacher.user_id, account__kind__in=TEACHER_KINDS).aggregate(
        earned=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.PURCHASE)),
        refunded=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.REFUND)),
        paid=Sum("amount_tokens", filter=Q(transfer__kind=TransferKind.PAYOUT)),
    )
    return TeacherBalances(
        pending=by_kind.get(AccountKind.TEACHER_PENDING, 0),
        available=by_kind.get(AccountKind.TEACHER_EARNINGS, 0),
        held=by_kind.get(AccountKind.TEACHER_PAYOUT_HOLD, 0),
        paid=-(sums["paid"] or 0),
        earned=sums["earned"] or 0,
        refunded=-(sums["refunded"] or 0),
    )


def due_for_release(*, now: datetime | None = None, teacher: Teacher | None = None):
    """Enrollments not yet released whose refund window has passed, and free ones (nothing is
    pending for them, so they are released at once); refunded ones never are."""
    cutoff = (now or timezone.now()) - refund_window()
    rows = Enrollment.objects.filter(released_at__isnull=True).filter(
        Q(enrolled_at__lte=cutoff) | Q(price_paid_tokens=0)
    )
    rows = rows.exclude(status=EnrollmentStatus.REFUNDED)
    if teacher is not None:
        rows = rows.filter(course__teacher=teacher)
    return rows


RELEASE_BATCH = 1000


def _available_ids(owner_ids: set[int]) -> dict[int, int]:
    """Each teacher user's available account id, creating the missing ones."""
    kind = AccountKind.TEACHER_EARNINGS
    found = dict(Account.objects.filter(kind=kind, owner_id__in=owner_ids).values_list("owner_id", "pk"))
    missing = owner_ids - found.keys()
    if missing:
        Account.objects.bulk_create(
            [Account(kind=kind, owner_id=u) for u in sorted(missing)], ignore_conflicts=True
        )
        found = dict(Account.objects.filter(kind=kind, owner_id__in=owner_ids).values_list("owner_id", "pk"))
    return found


def _release_batch(*, now: datetime, teacher: Teacher | None, batch: int) -> int | None:
    """Release up to ``batch`` due enrollments in one transaction; None when none was due.

    The enrollment rows are locked first (as a refund locks its enrollment): rows a concurrent
    refund holds are skipped (PostgreSQL) and picked up by a later run if still due, and the due
    filter is checked again on the locked rows, so a refunded enrollment is never released.
    """
    with transaction.atomic():
        locking = due_for_release(now=now, teacher=teacher).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            locking = locking.select_for_update(skip_locked=True, of=("self",))
        ids = list(locking.values_list("pk", flat=True)[:batch])
        if not ids:
            return None
        shares = list(
            Entry.objects.filter(
                transfer__enrollment_id__in=ids,
                transfer__kind=TransferKind.PURCHASE,
                account__kind=AccountKind.TEACHER_PENDING,
            ).values_list("transfer__enrollment_id", "account_id", "account__owner_id", "amount_tokens")
        )
        available = _available_ids({owner for _, _, owner, _ in shares})
        specs = [
            release_spec(
                enrollment_id=enrollment_id,
                pending_id=pending_id,
                available_id=available[owner],
                tokens=tokens,
                at=now,
            )
            for enrollment_id, pending_id, owner, tokens in sorted(shares)
        ]
        post_transfers_bulk(specs)
        mark_released([(pk, now) for pk in ids])
        return len(ids)


def mark_released(rows: list[tuple[int, datetime]]) -> None:
    """Set ``released_at`` of many enrollments, (enrollment id, time) pairs: a plain
    ``executemany`` (the ORM's ``bulk_update`` builds a CASE per row, slow at this size). Callers
    post the release transfers in the same transaction (simulator, CSV import, ``release_due``)."""
    table = connection.ops.quote_name(Enrollment._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET released_at = %s WHERE id = %s", [(adapt(at), pk) for pk, at in rows]
        )


def release_spec(
    *, enrollment_id: int, pending_id: int, available_id: int, tokens: int, at: datetime
) -> TransferSpec:
    """The release transfer of one enrollment's teacher share (key ``release:<enrollment id>``)."""
    return TransferSpec(
        kind=TransferKind.RELEASE,
        idempotency_key=f"release:{enrollment_id}",
        legs=((pending_id, -tokens), (available_id, tokens)),
        memo=f"Refund window over for enrollment {enrollment_id}",
        created_at=at,
        enrollment_id=enrollment_id,
    )


def release_due(
    *, now: datetime | None = None, teacher: Teacher | None = None, batch: int = RELEASE_BATCH
) -> int:
    """Release every enrollment whose refund window has passed (and every free one); returns how
    many enrollments were marked released. Bulk (``post_transfers_bulk``, a batch per
    transaction), idempotent by the ``release:<enrollment id>`` keys, and safe to run any number
    of times and concurrently with itself and with refunds (each batch locks its enrollments)."""
    when = now or timezone.now()
    count = 0
    while (done := _release_batch(now=when, teacher=teacher, batch=batch)) is not None:
        count += done
    return count
