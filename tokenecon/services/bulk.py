"""Many course purchases (and their enrollments' later outcomes) in a few queries.

For the simulator and large imports. The money rules are the live product's: the price after a
discount comes from ``discounted_price_tokens`` (or is given, for a coupon priced by
``rates.coupon_price_tokens``), the legs from ``purchase_legs``, and the transfers are posted by
``post_transfers_bulk`` with the same checks as one-by-one posting (balanced, idempotent, no
wallet or earnings account below zero). As in ``purchase_course``, the teacher's share goes to
their *pending* earnings (``pending_account_id``); ``services.earnings`` releases it later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from tokenecon.errors import AlreadyEnrolled, InvalidAmount
from tokenecon.models import AccountKind, Coupon, Enrollment, EnrollmentStatus, Transfer, TransferKind
from tokenecon.services.enrollment import purchase_legs
from tokenecon.services.ledger import TransferSpec, platform_account, post_transfers_bulk
from tokenecon.services.rates import discounted_price_tokens

# Keeps every query's parameter count (accounts, keys) well inside SQLite's limit.
BATCH = 10_000


@dataclass(frozen=True)
class BulkPurchase:
    learner_id: int
    course_id: int
    wallet_account_id: int
    pending_account_id: int  # the teacher's TEACHER_PENDING account
    list_price_tokens: int
    idempotency_key: str
    at: datetime
    discount_pct: Decimal = Decimal(0)
    memo: str = ""
    # A coupon redemption: the price after the coupon (``rates.coupon_price_tokens``, at least 1:
    # a free enrollment moves no tokens and is not a bulk purchase), who funds the discount.
    paid_tokens: int | None = None
    coupon_id: int | None = None
    platform_funded: bool = False


@dataclass(frozen=True)
class EnrollmentOutcome:
    enrollment_id: int
    status: str
    progress_pct: int
    completed_at: datetime | None = None
    rating: int | None = None


def purchase_courses_bulk(
    purchases: Sequence[BulkPurchase], *, funding: Sequence[TransferSpec] = ()
) -> list[tuple[int, int]]:
    """Enroll learners and post their purchase transfers, in the given (time) order.

    ``funding`` are transfers (typically the top-ups that pay for these purchases) posted just
    before them in the same ledger batch, which saves a second pass over the same wallets.

    Returns (enrollment id, purchase transfer id) per purchase. A purchase whose idempotency key
    was already posted is not repeated: its existing enrollment and transfer are returned. All or
    nothing: ``InsufficientTokens`` or ``AlreadyEnrolled`` rolls back every purchase of the call.
    """
    if not purchases:
        return []
    keys = [p.idempotency_key for p in purchases]
    seats = [(p.learner_id, p.course_id) for p in purchases if p.idempotency_key]
    if len(set(seats)) != len(seats):
        raise AlreadyEnrolled("The same learner buys the same course twice in one batch.")
    revenue_id = platform_account(AccountKind.PLATFORM_REVENUE).pk
    treasury_id = (
        platform_account(AccountKind.PLATFORM_TREASURY).pk
        if any(p.platform_funded for p in purchases)
        else None
    )
    price_cache: dict[tuple[int, Decimal], int] = {}
    result: list[tuple[int, int]] = []
    with transaction.atomic():
        for start in range(0, len(purchases), BATCH):
            batch = purchases[start : start + BATCH]
            done = dict(
                Transfer.objects.filter(
                    idempotency_key__in=keys[start : start + BATCH], kind=TransferKind.PURCHASE
                ).values_list("idempotency_key", "pk")
            )
            done_enrollment = dict(
                Transfer.objects.filter(pk__in=done.values()).values_list("pk", "enrollment_id")
            )
            todo = [p for p in batch if p.idempotency_key not in done]
            paid = []
            for p in todo:
                if p.paid_tokens is not None:
                    if not 0 < p.paid_tokens <= p.list_price_tokens:
                        raise InvalidAmount(
                            f"A bulk purchase pays 1 to {p.list_price_tokens} tokens, got {p.paid_tokens}."
                        )
                    paid.append(p.paid_tokens)
                    continue
                key = (p.list_price_tokens, Decimal(p.discount_pct))
                if key not in price_cache:
                    price_cache[key] = discounted_price_tokens(
                        list_price_tokens=p.list_price_tokens, discount_pct=p.discount_pct
                    )
                paid.append(price_cache[key])
            try:
                # A savepoint, so a refused seat leaves the caller's transaction usable.
                with transaction.atomic():
                    enrollments = Enrollment.objects.bulk_create(
                        [
                            Enrollment(
                                learner_id=p.learner_id,
                                course_id=p.course_id,
                                enrolled_at=p.at,
                                list_price_tokens=p.list_price_tokens,
                                price_paid_tokens=amount,
                                discount_pct=p.discount_pct,
                                coupon_id=p.coupon_id,
                            )
                            for p, amount in zip(todo, paid, strict=True)
                        ],
                        batch_size=1000,
                    )
            except IntegrityError as exc:
                raise AlreadyEnrolled("A learner in this batch is already enrolled in that course.") from exc
            funded = list(funding) if start == 0 else []
            transfers = post_transfers_bulk(
                funded
                + [
                    TransferSpec(
                        kind=TransferKind.PURCHASE,
                        idempotency_key=p.idempotency_key,
                        legs=purchase_legs(
                            wallet_id=p.wallet_account_id,
                            earnings_id=p.pending_account_id,
                            revenue_id=revenue_id,
                            paid_tokens=amount,
                            list_price_tokens=p.list_price_tokens,
                            platform_funded=p.platform_funded,
                            treasury_id=treasury_id,
                        ),
                        memo=p.memo[:255],
                        created_at=p.at,
                        enrollment_id=e.pk,
                        coupon_id=p.coupon_id,
                    )
                    for p, amount, e in zip(todo, paid, enrollments, strict=True)
                ]
            )
            transfers = transfers[len(transfers) - len(todo) :]
            _count_coupon_uses(p.coupon_id for p in todo)
            written = iter(zip(enrollments, transfers, strict=True))
            for p in batch:
                if p.idempotency_key in done:
                    transfer_id = done[p.idempotency_key]
                    result.append((done_enrollment[transfer_id], transfer_id))
                else:
                    enrollment, transfer = next(written)
                    result.append((enrollment.pk, transfer.pk))
    return result


def _count_coupon_uses(coupon_ids: Iterable[int | None]) -> None:
    """One use per redemption (a coupon's cap is checked by its row's constraint)."""
    for coupon_id, uses in sorted(Counter(c for c in coupon_ids if c is not None).items()):
        Coupon.objects.filter(pk=coupon_id).update(uses_count=F("uses_count") + uses)


def update_enrollment_outcomes_bulk(outcomes: Sequence[EnrollmentOutcome]) -> int:
    """Record progress, completion, rating or refund status of many enrollments.

    Plain ``executemany`` because the ORM's ``bulk_update`` builds one CASE per field and row,
    which is many times slower at simulator scale. Money never moves here: a refund's tokens move
    through the ledger (``post_transfers_bulk`` or ``refund_enrollment``) before its status is set.
    """
    if not outcomes:
        return 0
    valid = set(EnrollmentStatus.values)
    ops = connection.ops
    table = ops.quote_name(Enrollment._meta.db_table)
    sql = f"UPDATE {table} SET status = %s, progress_pct = %s, completed_at = %s, rating = %s WHERE id = %s"
    rows = []
    for o in outcomes:
        if o.status not in valid:
            raise ValueError(f"Unknown enrollment status {o.status!r}.")
        rows.append(
            (
                o.status,
                int(o.progress_pct),
                ops.adapt_datetimefield_value(o.completed_at) if o.completed_at else None,
                o.rating,
                o.enrollment_id,
            )
        )
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), 20_000):
            cursor.executemany(sql, rows[start : start + 20_000])
    return len(rows)
