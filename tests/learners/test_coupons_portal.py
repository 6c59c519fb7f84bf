"""The learner's coupon on the course page: the htmx check shows the new price or why the code is
refused, the confirmation carries the code and the balance after, the purchase takes one use;
a coupon and a personalised offer are not stacked (the cheaper wins and the page says which)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from learners.models import Offer
from learners.selectors import price_choice
from learners.services.enrolling import enroll_learner
from tests.factories import CouponFactory, CourseFactory, OfferFactory
from tests.helpers import signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.errors import CouponRefused
from tokenecon.models import Coupon, Enrollment, Transfer
from tokenecon.services.accounts import top_up_wallet, wallet_of

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def priced(teacher):
    return CourseFactory(teacher=teacher, price_tokens=100, category="programming")


@pytest.fixture
def funded(client, learner):
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="funded")
    signed_in(client, learner.user)
    return learner


def check(client, course, code, **headers):
    return client.post(reverse("learners:apply_coupon", args=[course.code]), {"coupon": code}, **headers)


def enroll(client, course, *, price, coupon="", offer=None, token=TOKEN):
    data = {"form_token": token, "price_tokens": price, "coupon": coupon}
    if offer is not None:
        data["offer"] = offer.pk
    return client.post(reverse("learners:enroll", args=[course.code]), data)


def test_the_course_page_has_a_code_field_posting_to_the_check(client, funded, priced):
    page = client.get(reverse("learners:course_detail", args=[priced.code])).content.decode()
    assert 'data-testid="coupon-input"' in page
    assert f'hx-post="{reverse("learners:apply_coupon", args=[priced.code])}"' in page


def test_a_good_code_shows_the_new_price_and_a_link_to_confirm_with_it(client, funded, priced):
    CouponFactory(code="SAVE20", course=priced)
    answer = check(client, priced, " save20 ", **HTMX)
    assert answer.status_code == 200
    body = answer.content.decode()
    assert 'data-testid="coupon-price">80 tokens' in body
    assert "Code SAVE20: 20% off, you pay 80 tokens instead of 100." in body
    assert "?coupon=SAVE20" in body
    confirm = client.get(reverse("learners:enroll", args=[priced.code]) + "?coupon=save20", **HTMX)
    page = confirm.content.decode()
    assert 'data-testid="confirm-price">80 tokens' in page
    assert 'data-testid="balance-after">420 tokens' in page
    assert 'name="coupon" value="SAVE20"' in page


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: None, "Unknown coupon code NOPE."),
        (
            lambda c: CouponFactory(code="NOPE", course=c, valid_until=datetime(2020, 1, 5, 12, tzinfo=UTC)),
            "Coupon NOPE expired on 5 Jan 2020.",
        ),
        (
            lambda c: CouponFactory(code="NOPE", course=c, valid_from=datetime(2031, 3, 3, 12, tzinfo=UTC)),
            "Coupon NOPE is not valid yet: valid from 3 Mar 2031.",
        ),
        (
            lambda c: CouponFactory(code="NOPE", course=c, max_uses=1, uses_count=1),
            "Coupon NOPE has been used up (1 of 1 uses).",
        ),
        (lambda c: CouponFactory(code="NOPE"), "Coupon NOPE is for another course"),
    ],
    ids=["unknown", "expired", "not-yet-valid", "used-up", "out-of-scope"],
)
def test_a_refused_code_says_why_400_without_htmx_and_charges_nothing(client, funded, priced, make, message):
    make(priced)
    page = check(client, priced, "nope")
    assert page.status_code == 400
    assert message in page.content.decode()
    fragment = check(client, priced, "nope", **HTMX)
    assert fragment.status_code == 200 and 'data-testid="coupon-error"' in fragment.content.decode()
    assert message in fragment.content.decode()
    assert wallet_of(funded).balance_tokens == 500 and not Enrollment.objects.exists()


def test_an_empty_or_overlong_code_is_a_form_error(client, funded, priced):
    assert "Enter a coupon code." in check(client, priced, "").content.decode()
    assert check(client, priced, "").status_code == 400
    assert "No coupon code is that long." in check(client, priced, "X" * 65).content.decode()


def test_enrolling_with_the_code_pays_its_price_and_takes_one_use(client, funded, priced):
    coupon = CouponFactory(code="SAVE20", course=priced, max_uses=10)
    answer = enroll(client, priced, price=80, coupon="SAVE20")
    assert answer.status_code == 302
    enrollment = Enrollment.objects.get()
    assert (enrollment.price_paid_tokens, enrollment.coupon_id) == (80, coupon.pk)
    assert Transfer.objects.get(enrollment=enrollment).coupon_id == coupon.pk
    assert wallet_of(funded).balance_tokens == 420
    coupon.refresh_from_db()
    assert coupon.uses_count == 1
    # The same form again charges nothing more.
    enroll(client, priced, price=80, coupon="SAVE20")
    assert wallet_of(funded).balance_tokens == 420
    assert_ledger_consistent()


def test_a_free_coupon_enrolls_for_free_from_the_page(client, funded, priced):
    coupon = CouponFactory(code="GIFT", course=priced, percent_off=Decimal("100"))
    confirm = client.get(reverse("learners:enroll", args=[priced.code]) + "?coupon=gift").content.decode()
    assert "Confirm and enroll for free" in confirm and 'data-testid="balance-after">500 tokens' in confirm
    assert enroll(client, priced, price=0, coupon="GIFT").status_code == 302
    enrollment = Enrollment.objects.get(coupon=coupon)
    assert enrollment.price_paid_tokens == 0 and not Transfer.objects.filter(enrollment=enrollment).exists()
    assert wallet_of(funded).balance_tokens == 500


def test_a_code_used_up_before_confirming_is_refused_and_nothing_charged(client, funded, priced):
    coupon = CouponFactory(code="LAST", course=priced, max_uses=1)
    Coupon.objects.filter(pk=coupon.pk).update(uses_count=1)  # another learner took it meanwhile
    answer = enroll(client, priced, price=80, coupon="LAST")
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "Coupon LAST has been used up" in body and "Nothing was charged" in body
    assert 'data-testid="confirm-price">100 tokens' in body  # the price without it
    assert wallet_of(funded).balance_tokens == 500 and not Enrollment.objects.exists()


def test_a_tampered_price_with_a_code_is_a_price_change(client, funded, priced):
    CouponFactory(code="SAVE20", course=priced)
    answer = enroll(client, priced, price=50, coupon="SAVE20")
    assert answer.status_code == 409
    assert "The price changed from 50 to 80 tokens" in answer.content.decode()
    assert wallet_of(funded).balance_tokens == 500


# --- coupon against personalised offer ---------------------------------------------------------------


def test_the_offer_wins_when_cheaper_and_the_page_says_so(client, funded, priced):
    CouponFactory(code="SAVE20", course=priced)
    offer = OfferFactory(learner=funded, course=priced, discount_pct=Decimal("28"))
    choice = price_choice(learner=funded, course=priced, code="save20")
    assert (choice.applied, choice.price) == ("offer", 72)
    expected = "Your code SAVE20 gives 80 tokens; your personal offer gives 72: we applied the offer."
    assert choice.message == expected
    assert expected in check(client, priced, "save20", **HTMX).content.decode()
    assert enroll(client, priced, price=72, coupon="", offer=offer).status_code == 302
    offer.refresh_from_db()
    assert offer.status == Offer.Status.REDEEMED
    assert Coupon.objects.get(code="SAVE20").uses_count == 0
    assert wallet_of(funded).balance_tokens == 428


def test_the_code_wins_when_cheaper_and_the_offer_stays_unused(client, funded, priced):
    coupon = CouponFactory(code="HALF", course=priced, percent_off=Decimal("50"))
    offer = OfferFactory(learner=funded, course=priced, discount_pct=Decimal("10"))
    choice = price_choice(learner=funded, course=priced, code="half")
    assert choice.applied == "coupon" and choice.price == 50
    assert (
        choice.message == "Your code HALF gives 50 tokens; your personal offer gives 90: we applied the code."
    )
    confirm = client.get(reverse("learners:enroll", args=[priced.code]) + "?coupon=half").content.decode()
    assert 'data-testid="confirm-price">50 tokens' in confirm and "we applied the code" in confirm
    enrollment = enroll_learner(
        learner=funded, course=priced, confirmed_price_tokens=50, form_token=TOKEN, coupon_code="half"
    )
    assert enrollment.coupon_id == coupon.pk and enrollment.price_paid_tokens == 50
    offer.refresh_from_db()
    assert offer.status == Offer.Status.SHOWN


def test_on_a_tie_the_offer_applies_and_no_use_is_taken(funded, priced):
    CouponFactory(code="TWENTY", course=priced)
    OfferFactory(learner=funded, course=priced, discount_pct=Decimal("20"))
    assert price_choice(learner=funded, course=priced, code="twenty").applied == "offer"


def test_a_refused_code_with_an_offer_falls_back_to_the_offer(funded, priced):
    OfferFactory(learner=funded, course=priced, discount_pct=Decimal("10"))
    choice = price_choice(learner=funded, course=priced, code="nope")
    assert choice.refusal == "Unknown coupon code NOPE." and (choice.applied, choice.price) == ("offer", 90)
    with pytest.raises(CouponRefused):
        enroll_learner(
            learner=funded, course=priced, confirmed_price_tokens=90, form_token=TOKEN, coupon_code="nope"
        )
    assert not Enrollment.objects.exists()
