from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from learners.models import Offer
from learners.selectors import best_offer_for, best_offers_for
from learners.services.offers import OfferNotUsable, expire_offers, redeem_offer
from tests.factories import CourseFactory, LearnerFactory, OfferFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import InsufficientTokens
from tokenecon.models import Enrollment
from tokenecon.services.accounts import top_up_wallet, wallet_of

pytestmark = pytest.mark.django_db


def make_offer(learner, course, pct=20):
    return OfferFactory(learner=learner, course=course, discount_pct=Decimal(pct))


def test_redeeming_an_offer_pays_the_discounted_price_through_the_ledger(learner):
    course = CourseFactory(price_tokens=100)
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="t")
    offer = make_offer(learner, course, 20)
    enrollment = redeem_offer(offer=offer, learner=learner, course=course, idempotency_key="buy")
    assert enrollment.price_paid_tokens == 80
    assert wallet_of(learner).balance_tokens == 20
    offer.refresh_from_db()
    assert offer.status == Offer.Status.REDEEMED and offer.enrollment_id == enrollment.pk
    assert_ledger_consistent()


def test_offer_of_another_learner_or_expired_is_refused_and_charges_nothing(learner):
    course = CourseFactory(price_tokens=50)
    top_up_wallet(learner=learner, amount_tokens=100, idempotency_key="t")
    other = make_offer(LearnerFactory(), course)
    with pytest.raises(OfferNotUsable):
        redeem_offer(offer=other, learner=learner, course=course, idempotency_key="a")
    expired = make_offer(learner, course)
    Offer.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired.refresh_from_db()
    with pytest.raises(OfferNotUsable):
        redeem_offer(offer=expired, learner=learner, course=course, idempotency_key="b")
    assert wallet_of(learner).balance_tokens == 100
    assert not Enrollment.objects.exists()
    assert expire_offers() == 1


def test_short_of_tokens_the_offer_stays_usable(learner):
    course = CourseFactory(price_tokens=100)
    top_up_wallet(learner=learner, amount_tokens=10, idempotency_key="t")
    offer = make_offer(learner, course, 30)
    with pytest.raises(InsufficientTokens):
        redeem_offer(offer=offer, learner=learner, course=course, idempotency_key="buy")
    offer.refresh_from_db()
    assert offer.status == Offer.Status.SHOWN
    assert not Enrollment.objects.exists()


def test_best_offer_prefers_the_deepest_discount_including_category_offers(learner):
    course = CourseFactory(category="music")
    make_offer(learner, course, 10)
    OfferFactory(
        learner=learner,
        course=None,
        category="music",
        discount_pct=15,
        expires_at=timezone.now() + timedelta(days=3),
    )
    assert best_offer_for(learner=learner, course=course).discount_pct == 15


def test_best_offers_for_many_courses_match_best_offer_for_each_in_one_query(
    learner, django_assert_num_queries
):
    music, design, plain = (CourseFactory(category=c) for c in ("music", "design", "business"))
    make_offer(learner, music, 10)
    make_offer(learner, design, 25)
    OfferFactory(learner=learner, course=None, category="music", discount_pct=15)
    OfferFactory(learner=learner, course=None, category="design", discount_pct=5)
    OfferFactory(learner=learner, course=plain, discount_pct=50, status=Offer.Status.REDEEMED)
    OfferFactory(learner=LearnerFactory(), course=plain, discount_pct=60)
    courses = [music, design, plain]
    with django_assert_num_queries(1):
        best = best_offers_for(learner=learner, courses=courses)
    assert {c.pk: best[c.pk].discount_pct for c in courses if c.pk in best} == {music.pk: 15, design.pk: 25}
    for course in courses:
        assert best.get(course.pk) == best_offer_for(learner=learner, course=course)


def test_retrying_a_redemption_with_its_key_returns_the_same_enrollment_and_charges_once(learner):
    # A client that lost the answer retries with the same key: it used to get "offer redeemed"
    # (409) although its purchase had gone through.
    course = CourseFactory(price_tokens=100)
    top_up_wallet(learner=learner, amount_tokens=200, idempotency_key="t")
    offer = make_offer(learner, course, 20)
    first = redeem_offer(offer=offer, learner=learner, course=course, idempotency_key="buy")
    stale = Offer.objects.get(pk=offer.pk)
    again = redeem_offer(offer=stale, learner=learner, course=course, idempotency_key="buy")
    assert again.pk == first.pk
    assert wallet_of(learner).balance_tokens == 120
    # A new key is a new redemption: the offer is used up.
    with pytest.raises(OfferNotUsable):
        redeem_offer(offer=stale, learner=learner, course=course, idempotency_key="buy-again")
    assert wallet_of(learner).balance_tokens == 120
    assert_ledger_consistent()
