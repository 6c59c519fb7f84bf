"""A learner's journey in headless Chromium (Debian's package, driven by Playwright): log in,
search the catalog, open a course they have an offer on, enroll after confirming and see the
balance fall by exactly the discounted price; then a learner short of tokens is told so and
nothing is charged, also when their tokens run out between confirming and paying."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from learners.models import Offer
from learners.services.suggestions import clear_suggestion_cache
from tests.factories import CourseFactory, LearnerFactory, OfferFactory, TeacherFactory
from tokenecon.models import Enrollment, Transfer
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.rates import discounted_price_tokens

pytestmark = pytest.mark.browser

PASSWORD = "pass-word-123"  # the factories' password


@pytest.fixture
def market(transactional_db):
    """Committed data (the live server runs in another thread): a small catalog, a learner with
    tokens and an offer, and a learner with too few tokens."""
    clear_suggestion_cache()
    teacher = TeacherFactory(display_name="Grace Hopper")
    target = CourseFactory(
        teacher=teacher,
        title="Quantum computing for beginners",
        category="programming",
        price_tokens=150,
        description="Qubits, gates and your first circuit.",
    )
    for i in range(6):
        CourseFactory(teacher=teacher, title=f"Spreadsheet skills {i}", category="business")
    buyer = LearnerFactory()
    top_up_wallet(learner=buyer, amount_tokens=400, idempotency_key="journey-buyer")
    offer = OfferFactory(
        learner=buyer,
        course=target,
        discount_pct=Decimal("30"),
        reason="Picked for you: you like programming",
        expires_at=timezone.now() + timedelta(days=5),
    )
    poor = LearnerFactory()
    top_up_wallet(learner=poor, amount_tokens=60, idempotency_key="journey-poor")
    yield {"course": target, "buyer": buyer, "offer": offer, "poor": poor}
    clear_suggestion_cache()


def logged_in_page(browser, live_server, user):
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_learner_searches_enrolls_with_an_offer_and_a_poor_learner_is_refused(live_server, browser, market):
    course, buyer = market["course"], market["buyer"]
    price = discounted_price_tokens(list_price_tokens=course.price_tokens, discount_pct=30)
    assert price == 105

    page = logged_in_page(browser, live_server, buyer.user)
    page.goto(f"{live_server.url}/learner/courses/")
    assert page.locator("#catalog-table tbody tr").count() == 7
    with page.expect_response(lambda r: "q=quantum" in r.url and r.status == 200):
        page.fill("input[name=q]", "quantum")
    page.get_by_test_id("result-count").filter(has_text="1 course").wait_for()
    page.wait_for_url(re.compile(r"/learner/courses/\?.*q=quantum"))  # hx-push-url
    row = page.locator("#catalog-table tbody tr")
    assert row.count() == 1 and "−30%" in row.inner_text() and str(price) in row.inner_text()

    row.get_by_role("link", name=course.title).click()
    page.wait_for_url(re.compile(f"/learner/courses/{course.code}/$"))
    assert page.get_by_test_id("my-price").inner_text() == f"{price} tokens"
    assert page.get_by_test_id("balance").inner_text() == "400 tokens"
    assert "expires in" in page.get_by_test_id("offer").locator("..").inner_text()

    page.get_by_test_id("enroll").click()  # htmx loads the confirmation in place
    assert page.get_by_test_id("confirm-price").inner_text() == f"{price} tokens"
    assert page.get_by_test_id("balance-after").inner_text() == f"{400 - price} tokens"
    assert Enrollment.objects.count() == 0, "nothing may be bought before confirming"
    page.get_by_test_id("confirm-enroll").click()
    page.get_by_test_id("enrolled").wait_for()
    assert f"balance is now {400 - price} tokens" in page.locator(".messages").inner_text()
    assert page.get_by_test_id("balance").inner_text() == f"{400 - price} tokens"
    assert page.get_by_test_id("enroll").count() == 0
    assert wallet_of(buyer).balance_tokens == 400 - price
    market["offer"].refresh_from_db()
    assert market["offer"].status == Offer.Status.REDEEMED
    assert Enrollment.objects.get(learner=buyer, course=course).price_paid_tokens == price

    # A learner with 60 tokens cannot buy a 150-token course: told how many are missing.
    poor = market["poor"]
    transfers, enrollments = Transfer.objects.count(), Enrollment.objects.count()
    page = logged_in_page(browser, live_server, poor.user)
    page.goto(f"{live_server.url}/learner/courses/{course.code}/")
    page.get_by_test_id("enroll").click()
    shortfall = page.get_by_test_id("shortfall")
    assert "You need 90 more tokens: 150 needed, 60 available" in shortfall.inner_text()
    assert page.get_by_test_id("confirm-enroll").count() == 0
    assert page.get_by_test_id("top-up-link").get_attribute("href").startswith("/learner/wallet/?amount=90")

    # Enough tokens when confirming, too few when paying (spent in another tab): the ledger refuses.
    cheap = CourseFactory(title="Budget basics", price_tokens=50)
    page.goto(f"{live_server.url}/learner/courses/{cheap.code}/")
    page.get_by_test_id("enroll").click()
    page.get_by_test_id("confirm-enroll").wait_for()
    purchase_course(learner=poor, course=CourseFactory(price_tokens=40), idempotency_key="other-tab")
    transfers += 1
    enrollments += 1
    page.get_by_test_id("confirm-enroll").click()
    error = page.get_by_test_id("enroll-error")
    error.wait_for()
    assert "costs 50 tokens and your wallet has 20. Nothing was charged." in error.inner_text()
    assert wallet_of(poor).balance_tokens == 20
    assert Transfer.objects.count() == transfers and Enrollment.objects.count() == enrollments
    assert not Enrollment.objects.filter(learner=poor, course__in=[course, cheap]).exists()
