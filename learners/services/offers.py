"""Offers: redeem one through the ledger purchase, expire old ones."""

from __future__ import annotations

from django.utils import timezone

from learners.models import Offer
from tokenecon.errors import TokenEconomyError
from tokenecon.models import Course, Enrollment, Learner, TransferKind
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.ledger import existing_transfer


class OfferNotUsable(TokenEconomyError):
    status_code = 409


def _check(offer: Offer, learner: Learner, course: Course) -> None:
    if offer.learner_id != learner.pk:
        raise OfferNotUsable("This offer belongs to another learner.")
    if offer.status != Offer.Status.SHOWN:
        raise OfferNotUsable(f"This offer is {offer.status}.")
    if offer.expires_at <= timezone.now():
        raise OfferNotUsable("This offer has expired.")
    if offer.course_id and offer.course_id != course.pk:
        raise OfferNotUsable("This offer is for another course.")
    if not offer.course_id and offer.category != course.category:
        raise OfferNotUsable(f"This offer is for {offer.category} courses.")


def redeem_offer(*, offer: Offer, learner: Learner, course: Course, idempotency_key: str) -> Enrollment:
    """Buy the course at the offer's discount; the offer is redeemed in the same transaction.

    Idempotent by key like every purchase: a retry of a redemption that went through returns its
    enrollment (the ledger replays the purchase) instead of refusing a now-redeemed offer.
    """
    done = existing_transfer(idempotency_key, kind=TransferKind.PURCHASE)
    redeemed_by = Offer.objects.filter(pk=offer.pk).values_list("enrollment_id", flat=True).first()
    if done is None or done.enrollment_id is None or done.enrollment_id != redeemed_by:
        _check(offer, learner, course)

    def mark_redeemed(enrollment: Enrollment) -> None:
        locked = Offer.objects.select_for_update().get(pk=offer.pk)
        _check(locked, learner, course)  # a concurrent redemption may have used it meanwhile
        Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.REDEEMED, enrollment=enrollment)

    enrollment = purchase_course(
        learner=learner,
        course=course,
        idempotency_key=idempotency_key,
        discount_pct=offer.discount_pct,
        also=mark_redeemed,  # not called on a replay: the offer was redeemed the first time
    )
    offer.refresh_from_db()
    return enrollment


def expire_offers() -> int:
    return Offer.objects.filter(status=Offer.Status.SHOWN, expires_at__lte=timezone.now()).update(
        status=Offer.Status.EXPIRED
    )
