"""Coupons in headless Chromium: a teacher creates a coupon in the teacher portal; a learner types
it on the course page, sees the new price (htmx) and a refused code's reason, confirms with the
code and pays exactly the coupon's price; the teacher's list shows the use."""

from __future__ import annotations

import re

import pytest

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tokenecon.models import Coupon, Enrollment
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


def test_a_teacher_creates_a_coupon_and_a_learner_enrolls_with_it(transactional_db, live_server, browser):
    teacher = TeacherFactory()
    course = CourseFactory(teacher=teacher, title="Coupons in practice", price_tokens=120)
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=300, idempotency_key="coupon-journey")

    portal = logged_in_page(browser, live_server, teacher.user)
    portal.goto(f"{live_server.url}/teacher/coupons/")
    portal.get_by_test_id("new-coupon").click()
    portal.fill("input[name=code]", "journey25")
    portal.fill("input[name=percent_off]", "25")
    portal.select_option("select[name=course]", str(course.pk))
    portal.fill("input[name=max_uses]", "5")
    portal.get_by_test_id("create-coupon").click()
    portal.get_by_test_id("coupon-row").wait_for()
    assert "JOURNEY25" in portal.content()

    page = logged_in_page(browser, live_server, learner.user)
    page.goto(f"{live_server.url}/learner/courses/{course.code}/")
    page.get_by_test_id("coupon-input").fill("nope")
    page.get_by_test_id("coupon-apply").click()
    assert page.get_by_test_id("coupon-error").inner_text() == "Unknown coupon code NOPE."
    page.get_by_test_id("coupon-input").fill("journey25")
    page.get_by_test_id("coupon-apply").click()
    assert page.get_by_test_id("coupon-price").inner_text() == "90 tokens"
    page.get_by_test_id("coupon-enroll").click()  # htmx loads the confirmation with the code
    assert page.get_by_test_id("confirm-price").inner_text() == "90 tokens"
    assert page.get_by_test_id("balance-after").inner_text() == "210 tokens"
    page.get_by_test_id("confirm-enroll").click()
    page.get_by_test_id("enrolled").wait_for()
    assert wallet_of(learner).balance_tokens == 210
    assert Enrollment.objects.get(learner=learner).coupon.code == "JOURNEY25"

    portal.goto(f"{live_server.url}/teacher/coupons/")
    assert re.search(r"1 / 5", portal.get_by_test_id("coupon-uses").inner_text())
    assert Coupon.objects.get(code="JOURNEY25").uses_count == 1
