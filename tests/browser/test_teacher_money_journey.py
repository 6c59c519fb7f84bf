"""Teacher money end to end in headless Chromium (issue 16): a teacher creates a coupon in the
teacher portal; a learner types it on the course page, sees a refused code's reason and then the
new price (htmx), confirms and pays exactly the coupon's price; the teacher's earnings page shows
the share as pending; the release runs with a clock past the refund window; the teacher asks for
a payout (the htmx panel confirms first, nothing is held before); staff pay it from the dashboard
queue after a confirmation; the teacher's page and monthly statement show the sale, the coupon's
use and the payout, and the statement reconciles with the ledger's balances.

(It replaces the separate coupon and payout journeys: every check of theirs is here.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from tests.browser.test_learner_journey import logged_in_page
from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.models import Coupon, Enrollment, PayoutRequest, PayoutStatus
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.earnings import release_due, teacher_balances
from tokenecon.services.statements import teacher_statement

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db, settings):
    settings.PAYOUT_PROVIDER = "manual"
    settings.TOKEN_PAYOUT_MIN_TOKENS = 500
    teacher = TeacherFactory()
    course = CourseFactory(teacher=teacher, title="Money in practice", price_tokens=1000)
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=1200, idempotency_key="money-journey")
    return {"teacher": teacher, "course": course, "learner": learner, "staff": StaffFactory()}


def test_coupon_sale_release_payout_and_statement(live_server, browser, people):
    teacher, course, learner, staff = people["teacher"], people["course"], people["learner"], people["staff"]

    # 1. The teacher creates a 25% coupon for the course (teacher-funded, the form's default).
    portal = logged_in_page(browser, live_server, teacher.user)
    portal.goto(f"{live_server.url}/teacher/coupons/")
    portal.get_by_test_id("new-coupon").click()
    portal.fill("input[name=code]", "money25")
    portal.fill("input[name=percent_off]", "25")
    portal.select_option("select[name=course]", str(course.pk))
    portal.fill("input[name=max_uses]", "5")
    portal.get_by_test_id("create-coupon").click()
    portal.get_by_test_id("coupon-row").wait_for()
    assert "MONEY25" in portal.content()

    # 2. The learner applies it, sees the price, enrolls at that price.
    page = logged_in_page(browser, live_server, learner.user)
    page.goto(f"{live_server.url}/learner/courses/{course.code}/")
    page.get_by_test_id("coupon-input").fill("nope")
    page.get_by_test_id("coupon-apply").click()
    assert page.get_by_test_id("coupon-error").inner_text() == "Unknown coupon code NOPE."
    page.get_by_test_id("coupon-input").fill("money25")
    page.get_by_test_id("coupon-apply").click()
    assert page.get_by_test_id("coupon-price").inner_text() == "750 tokens"
    page.get_by_test_id("coupon-enroll").click()  # htmx loads the confirmation with the code
    assert page.get_by_test_id("confirm-price").inner_text() == "750 tokens"
    assert page.get_by_test_id("balance-after").inner_text() == "450 tokens"
    page.get_by_test_id("confirm-enroll").click()
    page.get_by_test_id("enrolled").wait_for()
    assert wallet_of(learner).balance_tokens == 450
    enrollment = Enrollment.objects.get(learner=learner)
    assert (enrollment.coupon.code, enrollment.price_paid_tokens) == ("MONEY25", 750)
    portal.goto(f"{live_server.url}/teacher/coupons/")
    assert re.search(r"1 / 5", portal.get_by_test_id("coupon-uses").inner_text())
    assert Coupon.objects.get(code="MONEY25").uses_count == 1

    # 3. The teacher sees the share (80% of 750) pending, nothing available yet.
    portal.goto(f"{live_server.url}/teacher/earnings/")
    assert "600 tokens" in portal.get_by_test_id("pending").inner_text()
    assert "0 tokens" in portal.get_by_test_id("available").inner_text()

    # 4. The release runs with a clock past the refund window (the beat task's service).
    past_window = timezone.now() + timedelta(days=django_settings.TOKEN_REFUND_WINDOW_DAYS, minutes=1)
    assert release_due(now=past_window) == 1
    assert release_due(now=past_window) == 0  # idempotent
    portal.goto(f"{live_server.url}/teacher/earnings/")
    assert "0 tokens" in portal.get_by_test_id("pending").inner_text()
    assert "600 tokens" in portal.get_by_test_id("available").inner_text()

    # 5. The teacher requests a payout of 500 of the 600; it is confirmed before anything is held.
    portal.fill("input[name=amount_tokens]", "500")
    portal.get_by_test_id("payout-request").click()  # htmx swaps in the confirmation
    confirm = portal.get_by_test_id("payout-confirm")
    confirm.wait_for()
    assert "500 tokens" in confirm.inner_text() and "becomes 100 tokens" in confirm.inner_text()
    assert not PayoutRequest.objects.exists(), "nothing may be held before confirming"
    portal.get_by_test_id("payout-confirm-button").click()
    portal.locator(".messages").wait_for()
    assert "is with staff" in portal.locator(".messages").inner_text()
    assert "500 tokens" in portal.get_by_test_id("held").inner_text()
    assert "Requested" in portal.locator("#payout-requests").inner_text()

    # 6. Staff approve it from the dashboard queue, after a confirmation.
    desk = logged_in_page(browser, live_server, staff)
    desk.goto(f"{live_server.url}/dashboard/")
    desk.get_by_test_id("payout-queue-link").click()
    desk.wait_for_url("**/dashboard/payouts/")
    payout = PayoutRequest.objects.get()
    desk.check(f"input[name=ids][value='{payout.pk}']")
    desk.fill("#approve-reference", "BANK")
    desk.get_by_role("button", name="Approve selected…").click()
    desk.get_by_test_id("approve-confirm").wait_for()
    assert "500 tokens" in desk.get_by_test_id("approve-summary").inner_text()
    desk.get_by_test_id("approve-confirm").click()
    desk.locator(".messages").wait_for()
    assert "Paid 1 payout request(s), 500 tokens." in desk.locator(".messages").inner_text()
    payout.refresh_from_db()
    assert (payout.status, payout.provider_reference) == (PayoutStatus.PAID, f"BANK-{payout.pk}")

    # 7. The teacher's page and statement show it, and they reconcile with the ledger.
    portal.goto(f"{live_server.url}/teacher/earnings/")
    assert "500 tokens" in portal.get_by_test_id("paid").inner_text()
    assert f"BANK-{payout.pk}" in portal.locator("#payout-requests").inner_text()
    assert "✓" in portal.get_by_test_id("identity").inner_text()
    portal.get_by_role("button", name="Show statement").click()
    portal.wait_for_url("**/teacher/earnings/statement/?month=*")
    summary = portal.locator("#statement-summary").inner_text().replace("\t", " ")
    assert "Gross sales (paid by learners) 750 tokens" in summary
    assert "Earned (your share of sales) 600 tokens" in summary
    assert "Paid out −500 tokens" in summary
    assert "✓" in portal.get_by_test_id("reconciles").inner_text()
    balances = teacher_balances(teacher)
    assert (balances.pending, balances.available, balances.held, balances.paid) == (0, 100, 0, 500)
    assert balances.identity_holds and balances.earned == 600
    statement = teacher_statement(teacher=teacher, month=timezone.now().date())
    assert statement.reconciles and (statement.gross_sales, statement.paid_out) == (750, 500)
    assert_ledger_consistent()
