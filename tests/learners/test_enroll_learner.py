"""enroll_learner: the price the learner confirmed or nothing, their best offer redeemed, and a
retried form charged once."""

from decimal import Decimal

import pytest

from learners.models import Offer
from learners.services.enrolling import PriceChanged, enroll_learner, form_idempotency_key
from learners.services.offers import OfferNotUsable, redeem_offer
from tests.factories import CourseFactory, OfferFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import AlreadyEnrolled, InsufficientTokens
from tokenecon.models import Enrollment, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def funded(learner):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="enroll-funded")
    return learner


def purchases() -> int:
    return Transfer.objects.filter(kind=TransferKind.PURCHASE).count()


def test_enroll_without_an_offer_pays_the_list_price(funded):
    course = CourseFactory(price_tokens=100)
    enrollment = enroll_learner(learner=funded, course=course, confirmed_price_tokens=100, form_token=TOKEN)
    assert enrollment.price_paid_tokens == 100 and enrollment.discount_pct == 0
    assert wallet_of(funded).balance_tokens == 400
    assert_ledger_consistent()


def test_enroll_with_an_offer_redeems_the_deepest_one_at_its_price(funded):
    course = CourseFactory(price_tokens=100, category="music")
    shallow = OfferFactory(learner=funded, course=course, discount_pct=Decimal("10"))
    deepest = OfferFactory(learner=funded, course=None, category="music", discount_pct=Decimal("25"))
    enrollment = enroll_learner(learner=funded, course=course, confirmed_price_tokens=75, form_token=TOKEN)
    assert enrollment.price_paid_tokens == 75 and enrollment.discount_pct == 25
    deepest.refresh_from_db()
    shallow.refresh_from_db()
    assert deepest.status == Offer.Status.REDEEMED and deepest.enrollment == enrollment
    assert shallow.status == Offer.Status.SHOWN
    assert wallet_of(funded).balance_tokens == 425


def test_a_price_changed_since_confirming_is_a_409_with_both_prices_and_charges_nothing(funded):
    course = CourseFactory(price_tokens=120)
    with pytest.raises(PriceChanged) as refused:
        enroll_learner(learner=funded, course=course, confirmed_price_tokens=100, form_token=TOKEN)
    assert refused.value.status_code == 409
    assert (refused.value.confirmed_price_tokens, refused.value.price_tokens) == (100, 120)
    assert "changed from 100 to 120 tokens" in str(refused.value)
    assert wallet_of(funded).balance_tokens == 500 and purchases() == 0
    assert not Enrollment.objects.exists()


def test_a_retry_with_the_same_form_token_charges_once(funded):
    course = CourseFactory(price_tokens=100)
    OfferFactory(learner=funded, course=course, discount_pct=Decimal("10"))
    first = enroll_learner(learner=funded, course=course, confirmed_price_tokens=90, form_token=TOKEN)
    with pytest.raises(AlreadyEnrolled):
        enroll_learner(learner=funded, course=course, confirmed_price_tokens=90, form_token=TOKEN)
    assert Enrollment.objects.get(learner=funded, course=course) == first
    assert purchases() == 1 and wallet_of(funded).balance_tokens == 410
    key = form_idempotency_key(learner=funded, action=f"enroll-{course.pk}", form_token=TOKEN)
    assert Transfer.objects.get(kind=TransferKind.PURCHASE).idempotency_key == key
    assert_ledger_consistent()


@pytest.mark.parametrize(
    ("wallet_tokens", "confirmed_price_tokens", "error"),
    [
        (500, 100, PriceChanged),  # the offer appeared after the learner confirmed the list price
        (0, 80, InsufficientTokens),
    ],
)
def test_a_refused_enrollment_leaves_the_offer_usable_and_charges_nothing(
    learner, wallet_tokens, confirmed_price_tokens, error
):
    if wallet_tokens:
        top_up_wallet(learner=learner, amount_tokens=wallet_tokens, idempotency_key="refused-top-up")
    course = CourseFactory(price_tokens=100)
    offer = OfferFactory(learner=learner, course=course, discount_pct=Decimal("20"))
    with pytest.raises(error):
        enroll_learner(
            learner=learner, course=course, confirmed_price_tokens=confirmed_price_tokens, form_token=TOKEN
        )
    offer.refresh_from_db()
    assert offer.status == Offer.Status.SHOWN and purchases() == 0
    assert wallet_of(learner).balance_tokens == wallet_tokens and not Enrollment.objects.exists()


def test_an_offer_used_up_meanwhile_is_refused_and_charges_nothing(funded, monkeypatch):
    course = CourseFactory(price_tokens=100)
    offer = OfferFactory(learner=funded, course=course, discount_pct=Decimal("20"))

    # Another request redeems the offer between choosing it and locking it.
    def redeem_after_it_was_used(**kwargs):
        Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.REDEEMED)
        return redeem_offer(**kwargs)

    monkeypatch.setattr("learners.services.enrolling.redeem_offer", redeem_after_it_was_used)
    with pytest.raises(OfferNotUsable):
        enroll_learner(learner=funded, course=course, confirmed_price_tokens=80, form_token=TOKEN)
    assert wallet_of(funded).balance_tokens == 500 and purchases() == 0
