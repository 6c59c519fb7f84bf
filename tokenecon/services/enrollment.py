"""Buying and refunding courses: one transaction moves the tokens and writes the enrollment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tokenecon.errors import AlreadyEnrolled, IdempotencyConflict, InvalidAmount
from tokenecon.models import (
    Account,
    AccountKind,
    Course,
    Enrollment,
    Learner,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.services.accounts import wallet_of
from tokenecon.services.ledger import (
    TransferSpec,
    account_for_user,
    existing_transfer,
    platform_account,
    post_transfer_locked,
    run_idempotent,
)
from tokenecon.services.rates import discounted_price_tokens, split_purchase
from tokenecon.services.refunds import staff_refund


def purchase_legs(
    *,
    wallet_id: int,
    earnings_id: int,
    revenue_id: int,
    paid_tokens: int,
    list_price_tokens: int | None = None,
    platform_funded: bool = False,
    treasury_id: int | None = None,
) -> tuple[tuple[int, int], ...]:
    """The learner pays, the teacher's account (``earnings_id``) gets its share and the platform's
    revenue the commission. A platform-funded discount bigger than the commission is paid by the
    treasury (``treasury_id``). Zero legs are left out; a free purchase has none."""
    teacher_tokens, platform_tokens = split_purchase(
        list_price_tokens=list_price_tokens if list_price_tokens is not None else paid_tokens,
        paid_tokens=paid_tokens,
        platform_funded=platform_funded,
    )
    legs = [(wallet_id, -paid_tokens), (earnings_id, teacher_tokens)]
    if platform_tokens >= 0:
        legs.append((revenue_id, platform_tokens))
    else:
        if treasury_id is None:
            raise ValueError("A platform-funded discount above the commission needs the treasury account.")
        legs.append((treasury_id, platform_tokens))
    return tuple((account, amount) for account, amount in legs if amount != 0)


def _purchase_account_ids(*, learner: Learner, course: Course) -> tuple[int, int, int]:
    """The wallet, the teacher's pending earnings and platform revenue account ids in one query
    (each purchase needs all three; one is created only if it does not exist yet). The teacher's
    share is pending until the refund window has passed (``services.earnings``). Plain SQL: the
    ORM spent more time building this query than the database answering it."""
    quote = connection.ops.quote_name
    account, teacher = quote(Account._meta.db_table), quote(Teacher._meta.db_table)
    a_id, a_kind, a_owner = (quote(Account._meta.get_field(f).column) for f in ("id", "kind", "owner"))
    t_id, t_user = (quote(Teacher._meta.get_field(f).column) for f in ("id", "user"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {a_id}, {a_kind}, {a_owner} FROM {account} WHERE ({a_kind} = %s AND {a_owner} = %s)"
            f" OR ({a_kind} = %s AND {a_owner} = (SELECT {t_user} FROM {teacher} WHERE {t_id} = %s))"
            f" OR ({a_kind} = %s AND {a_owner} IS NULL)",
            [
                str(AccountKind.LEARNER_WALLET),
                learner.user_id,
                str(AccountKind.TEACHER_PENDING),
                course.teacher_id,
                str(AccountKind.PLATFORM_REVENUE),
            ],
        )
        found = {kind: pk for pk, kind, _owner in cursor.fetchall()}
    return (
        found.get(AccountKind.LEARNER_WALLET) or wallet_of(learner).pk,
        found.get(AccountKind.TEACHER_PENDING)
        or account_for_user(user_id=course.teacher.user_id, kind=AccountKind.TEACHER_PENDING).pk,
        found.get(AccountKind.PLATFORM_REVENUE) or platform_account(AccountKind.PLATFORM_REVENUE).pk,
    )


def _replay_enrollment(
    enrollment: Enrollment | None, *, key: str, learner: Learner, course: Course
) -> Enrollment:
    if enrollment is None or enrollment.learner_id != learner.pk or enrollment.course_id != course.pk:
        raise IdempotencyConflict(f"Idempotency key {key!r} was already used for another purchase.")
    return enrollment


def _replay_purchase(transfer: Transfer, *, learner: Learner, course: Course) -> Enrollment:
    return _replay_enrollment(
        transfer.enrollment, key=transfer.idempotency_key, learner=learner, course=course
    )


def purchase_replay(*, idempotency_key: str, learner: Learner, course: Course) -> Enrollment | None:
    """The enrollment an earlier purchase with this key made (a paid one by its transfer, a free
    one by the enrollment's ``purchase_key``), or None; another learner's or course's purchase
    under the key is an ``IdempotencyConflict``."""
    existing = existing_transfer(idempotency_key, kind=TransferKind.PURCHASE)
    if existing is not None:
        return _replay_purchase(existing, learner=learner, course=course)
    free = Enrollment.objects.filter(purchase_key=idempotency_key).first()
    if free is not None:
        return _replay_enrollment(free, key=idempotency_key, learner=learner, course=course)
    return None


def _purchase_free(
    *,
    learner: Learner,
    course: Course,
    idempotency_key: str,
    discount: Decimal,
    when: datetime,
    also: Callable[[Enrollment], None] | None,
    coupon_id: int | None,
) -> Enrollment:
    """A purchase at price 0 (a 100% coupon): the enrollment and ``also`` in one durable
    transaction, no transfer (no tokens move), nothing pending (released at once). The key is
    stored on the enrollment (``purchase_key``, unique), so a retry replays it like a paid one."""
    if not idempotency_key:
        raise InvalidAmount("An idempotency key is required.")
    done = purchase_replay(idempotency_key=idempotency_key, learner=learner, course=course)
    if done is not None:
        return done
    try:
        with transaction.atomic(durable=True):
            try:
                enrollment = Enrollment.objects.create(
                    learner=learner,
                    course=course,
                    enrolled_at=when,
                    list_price_tokens=course.price_tokens,
                    price_paid_tokens=0,
                    discount_pct=discount,
                    coupon_id=coupon_id,
                    purchase_key=idempotency_key,
                    released_at=when,
                )
            except IntegrityError as exc:
                # The seat is taken, or a racing retry stored this key first (checked below).
                raise AlreadyEnrolled(f"Already enrolled in {course.code}.") from exc
            if also is not None:
                also(enrollment)
            return enrollment
    except AlreadyEnrolled:
        done = purchase_replay(idempotency_key=idempotency_key, learner=learner, course=course)
        if done is None:
            raise
        return done


def purchase_course(
    *,
    learner: Learner,
    course: Course,
    idempotency_key: str,
    discount_pct: Decimal | int | str = 0,
    at: datetime | None = None,
    also: Callable[[Enrollment], None] | None = None,
    paid_tokens: int | None = None,
    platform_funded: bool = False,
    coupon_id: int | None = None,
) -> Enrollment:
    """Enroll a learner in a course, paying its (discounted) price from the wallet.

    All or nothing: the learner pays, the teacher is credited the price minus the commission,
    the platform the commission, and the enrollment is created. Raises ``InsufficientTokens``
    or ``AlreadyEnrolled`` and writes nothing when the purchase cannot happen. ``also`` runs in
    the same transaction after the purchase (redeeming an offer, say); if it raises, nothing
    happens at all. A price of 0 (``paid_tokens=0``, a 100% coupon) enrolls without a transfer.
    """
    when = at or timezone.now()
    discount = Decimal(str(discount_pct))
    paid = (
        discounted_price_tokens(list_price_tokens=course.price_tokens, discount_pct=discount)
        if paid_tokens is None
        else paid_tokens
    )
    if paid < 0 or paid > course.price_tokens:
        raise InvalidAmount(
            f"A price of {paid} tokens is outside 0..{course.price_tokens} for {course.code}."
        )
    if paid == 0:
        return _purchase_free(
            learner=learner,
            course=course,
            idempotency_key=idempotency_key,
            discount=discount,
            when=when,
            also=also,
            coupon_id=coupon_id,
        )
    if not idempotency_key:
        raise InvalidAmount("An idempotency key is required.")
    wallet_id, earnings_id, revenue_id = _purchase_account_ids(learner=learner, course=course)

    def write() -> Enrollment:
        # No "already enrolled?" or "key used?" read first: the enrollment's constraints answer
        # both. The key is stored on the enrollment (``purchase_key``, unique) as a free purchase
        # stores it, so a key a free purchase used, or this purchase's retry, is refused here.
        try:
            enrollment = Enrollment.objects.create(
                learner=learner,
                course=course,
                enrolled_at=when,
                list_price_tokens=course.price_tokens,
                price_paid_tokens=paid,
                discount_pct=discount,
                coupon_id=coupon_id,
                purchase_key=idempotency_key,
            )
        except IntegrityError as exc:
            # The seat or the key is taken (a retry, a concurrent purchase): sorted out below.
            raise AlreadyEnrolled(f"Already enrolled in {course.code}.") from exc
        post_transfer_locked(
            TransferSpec(
                kind=TransferKind.PURCHASE,
                idempotency_key=idempotency_key,
                legs=purchase_legs(
                    wallet_id=wallet_id,
                    earnings_id=earnings_id,
                    revenue_id=revenue_id,
                    paid_tokens=paid,
                    list_price_tokens=course.price_tokens,
                    platform_funded=platform_funded,
                    treasury_id=(
                        platform_account(AccountKind.PLATFORM_TREASURY).pk if platform_funded else None
                    ),
                ),
                memo=f"{course.code} {course.title}"[:255],
                created_at=when,
                enrollment_id=enrollment.pk,
                coupon_id=coupon_id,
            )
        )
        if also is not None:
            also(enrollment)
        return enrollment

    try:
        # The key is looked up only when an insert refuses it (a purchase made before keys were
        # stored on paid enrollments still has its transfer's key, which the transfer insert checks).
        return run_idempotent(
            idempotency_key=idempotency_key,
            kind=TransferKind.PURCHASE,
            write=write,
            replay=lambda existing: _replay_purchase(existing, learner=learner, course=course),
            look_first=False,
        )
    except AlreadyEnrolled:
        # A retry (of a paid or a free purchase) or a key used for another purchase: answer or
        # refuse by the key; else the learner owns the course already.
        done = purchase_replay(idempotency_key=idempotency_key, learner=learner, course=course)
        if done is None:
            raise
        return done


def refund_enrollment(*, enrollment: Enrollment, idempotency_key: str, reason: str = "") -> Transfer:
    """Refund an enrollment by the staff rules (``services.refunds``): every token goes back where
    it came from; after the release the teacher's share comes from their available balance as far
    as it goes and the rest from the treasury. Kept for its callers (admin, seeding, tests)."""
    return staff_refund(enrollment=enrollment, idempotency_key=idempotency_key, reason=reason)
