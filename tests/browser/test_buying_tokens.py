"""Buying tokens in headless Chromium: a learner short of tokens follows the course page's top-up
link, the wallet points at the pack that covers the shortfall, the confirmation states tokens and
price, the demo decline card is refused with nothing charged, a good card adds the pack's tokens,
and the learner goes back to the course and enrolls."""

from __future__ import annotations

import re

import pytest

from tests.factories import CourseFactory, LearnerFactory
from tokenecon.models import Enrollment, OrderStatus, TopUpOrder
from tokenecon.services.accounts import top_up_wallet, wallet_of

pytestmark = pytest.mark.browser

PASSWORD = "pass-word-123"  # the factories' password


def logged_in_page(browser, live_server, user):
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_learner_short_of_tokens_buys_a_pack_with_the_demo_card_and_enrolls(
    live_server, browser, transactional_db
):
    course = CourseFactory(title="Compilers in a weekend", price_tokens=150)
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=60, idempotency_key="browser-seed")

    page = logged_in_page(browser, live_server, learner.user)
    page.goto(f"{live_server.url}/learner/courses/{course.code}/")
    page.get_by_test_id("enroll").click()
    page.get_by_test_id("top-up-link").click()
    page.wait_for_url(re.compile(r"/learner/wallet/\?amount=90"))
    assert "the Starter pack (500 tokens) covers it" in page.get_by_test_id("pack-suggestion").inner_text()

    page.get_by_test_id("buy-starter").click()
    assert page.get_by_test_id("confirm-tokens").inner_text() == "500 tokens"
    assert page.get_by_test_id("confirm-money").inner_text() == "50.00 USD"
    assert not TopUpOrder.objects.exists(), "no order before confirming"
    page.get_by_test_id("confirm-order").click()
    page.wait_for_url(re.compile(r"/learner/wallet/orders/\d+/pay/"))

    page.fill("input[name=card_number]", "4000 0000 0000 0002")
    page.get_by_test_id("pay").click()
    result = page.get_by_test_id("order-result")
    assert "Declined:" in result.inner_text() and "Nothing was charged." in result.inner_text()
    assert wallet_of(learner).balance_tokens == 60
    assert TopUpOrder.objects.get().status == OrderStatus.FAILED

    page.goto(f"{live_server.url}/learner/wallet/")
    page.get_by_test_id("buy-starter").click()
    page.get_by_test_id("confirm-order").click()
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.get_by_test_id("pay").click()
    assert page.get_by_test_id("order-result").inner_text() == "Paid: 500 tokens added."
    assert page.get_by_test_id("balance").inner_text() == "560 tokens"
    assert wallet_of(learner).balance_tokens == 560

    page.goto(f"{live_server.url}/learner/courses/{course.code}/")
    page.get_by_test_id("enroll").click()
    page.get_by_test_id("confirm-enroll").click()
    page.get_by_test_id("enrolled").wait_for()
    assert Enrollment.objects.filter(learner=learner, course=course).exists()
    assert wallet_of(learner).balance_tokens == 410
