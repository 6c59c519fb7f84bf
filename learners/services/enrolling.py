"""The learner portal's writes from a submitted form: enrolling at the price the learner
confirmed (with their best offer, once per form), and the idempotency key a form's token gives
its ledger write, so submitting the same form twice moves tokens once."""

from __future__ import annotations

from learners.selectors import live_enrollment, price_choice
from learners.services.offers import redeem_offer
from tokenecon.errors import AlreadyEnrolled, CouponRefused, TokenEconomyError
from tokenecon.models import Course, Enrollment, Learner
from tokenecon.services.coupons import purchase_with_coupon
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
    *, learner: Learner, course: Course, confirmed_price_tokens: int, form_token: str, coupon_code: str = ""
) -> Enrollment:
    """Enroll the learner at the price they confirmed: the coupon they entered or their best
    usable offer, whichever is cheaper (never both), else the list price.

    Raises ``AlreadyEnrolled`` (a second submit of the form, or another tab: nothing more is
    charged), ``PriceChanged`` when the price is no longer the confirmed one, ``CouponRefused``
    when the code cannot be used, and whatever the purchase raises (``InsufficientTokens``,
    ``OfferNotUsable``); each writes nothing. The purchase runs in its own durable transaction,
    keyed by the form's token.
    """
    if live_enrollment(learner=learner, course=course) is not None:
        raise AlreadyEnrolled(f"Already enrolled in {course.code}.")
    choice = price_choice(learner=learner, course=course, code=coupon_code)
    if choice.refusal:
        raise CouponRefused(choice.refusal)
    if choice.price != confirmed_price_tokens:
        raise PriceChanged(confirmed_price_tokens=confirmed_price_tokens, price_tokens=choice.price)
    key = form_idempotency_key(learner=learner, action=f"enroll-{course.pk}", form_token=form_token)
    if choice.applied == "coupon":
        return purchase_with_coupon(
            learner=learner,
            course=course,
            code=choice.code,
            idempotency_key=key,
            expected_price_tokens=confirmed_price_tokens,
        )
    if choice.applied == "offer":
        return redeem_offer(offer=choice.offer, learner=learner, course=course, idempotency_key=key)
    return purchase_course(learner=learner, course=course, idempotency_key=key)
