"""The learner portal's writes from a submitted form: enrolling at the price the learner
confirmed (with their best offer, once per form), and the idempotency key a form's token gives
its ledger write, so submitting the same form twice moves tokens once."""

from __future__ import annotations

from learners.selectors import best_offer_for, live_enrollment, price_with_offer
from learners.services.offers import redeem_offer
from tokenecon.errors import AlreadyEnrolled, TokenEconomyError
from tokenecon.models import Course, Enrollment, Learner
from tokenecon.services.enrollment import purchase_course


class PriceChanged(TokenEconomyError):
    """The learner's price is not the one they confirmed (a new list price, an offer that
    appeared, expired or was used meanwhile): nothing is charged, they confirm again."""

    status_code = 409

    def __init__(self, *, confirmed_price_tokens: int, price_tokens: int):
        self.confirmed_price_tokens = confirmed_price_tokens
        self.price_tokens = price_tokens
        super().__init__(
            f"The price changed from {confirmed_price_tokens} to {price_tokens} tokens"
            " since you opened this page."
        )


def form_idempotency_key(*, learner: Learner, action: str, form_token: str) -> str:
    """The ledger key of a write made from one rendered form (``new_form_token``)."""
    return f"learner-{learner.pk}-{action}-{form_token}"


def enroll_learner(
    *, learner: Learner, course: Course, confirmed_price_tokens: int, form_token: str
) -> Enrollment:
    """Enroll the learner at the price they confirmed: their best usable offer is redeemed if
    they have one, else they pay the list price.

    Raises ``AlreadyEnrolled`` (a second submit of the form, or another tab: nothing more is
    charged), ``PriceChanged`` when the price is no longer the confirmed one, and whatever the
    purchase raises (``InsufficientTokens``, ``OfferNotUsable``); each writes nothing. The
    purchase runs in its own durable transaction, keyed by the form's token.
    """
    if live_enrollment(learner=learner, course=course) is not None:
        raise AlreadyEnrolled(f"Already enrolled in {course.code}.")
    offer = best_offer_for(learner=learner, course=course)
    price = price_with_offer(course=course, offer=offer)
    if price != confirmed_price_tokens:
        raise PriceChanged(confirmed_price_tokens=confirmed_price_tokens, price_tokens=price)
    key = form_idempotency_key(learner=learner, action=f"enroll-{course.pk}", form_token=form_token)
    if offer is not None:
        return redeem_offer(offer=offer, learner=learner, course=course, idempotency_key=key)
    return purchase_course(learner=learner, course=course, idempotency_key=key)
