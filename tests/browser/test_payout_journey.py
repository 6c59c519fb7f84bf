"""A payout in headless Chromium: a teacher with cleared earnings asks for part of them (the
htmx panel confirms first), staff pay it from the dashboard queue after a confirmation, and the
teacher's page and monthly statement show it paid."""

from __future__ import annotations

import pytest

from tests.browser.test_learner_journey import logged_in_page
from tests.factories import StaffFactory
from tests.tokenecon.payout_world import teacher_with_available
from tokenecon.models import PayoutRequest, PayoutStatus
from tokenecon.services.earnings import teacher_balances

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db, settings):
    settings.PAYOUT_PROVIDER = "manual"
    return {"teacher": teacher_with_available(), "staff": StaffFactory()}  # 800 available


def test_teacher_requests_staff_pay_and_the_statement_shows_it(live_server, browser, people):
    teacher, staff = people["teacher"], people["staff"]
    page = logged_in_page(browser, live_server, teacher.user)
    page.goto(f"{live_server.url}/teacher/earnings/")
    assert "800 tokens" in page.get_by_test_id("available").inner_text()
    page.fill("input[name=amount_tokens]", "600")
    page.get_by_test_id("payout-request").click()  # htmx swaps in the confirmation
    confirm = page.get_by_test_id("payout-confirm")
    confirm.wait_for()
    assert "600 tokens" in confirm.inner_text() and "becomes 200 tokens" in confirm.inner_text()
    assert not PayoutRequest.objects.exists(), "nothing may be held before confirming"
    page.get_by_test_id("payout-confirm-button").click()
    page.locator(".messages").wait_for()
    assert "is with staff" in page.locator(".messages").inner_text()
    assert "600 tokens" in page.get_by_test_id("held").inner_text()
    assert "Requested" in page.locator("#payout-requests").inner_text()

    desk = logged_in_page(browser, live_server, staff)
    desk.goto(f"{live_server.url}/dashboard/")
    desk.get_by_test_id("payout-queue-link").click()
    desk.wait_for_url("**/dashboard/payouts/")
    payout = PayoutRequest.objects.get()
    desk.check(f"input[name=ids][value='{payout.pk}']")
    desk.fill("#approve-reference", "BANK")
    desk.get_by_role("button", name="Approve selected…").click()
    desk.get_by_test_id("approve-confirm").wait_for()
    assert "600 tokens" in desk.get_by_test_id("approve-summary").inner_text()
    desk.get_by_test_id("approve-confirm").click()
    desk.locator(".messages").wait_for()
    assert "Paid 1 payout request(s), 600 tokens." in desk.locator(".messages").inner_text()
    payout.refresh_from_db()
    assert (payout.status, payout.provider_reference) == (PayoutStatus.PAID, f"BANK-{payout.pk}")

    page.goto(f"{live_server.url}/teacher/earnings/")
    assert "600 tokens" in page.get_by_test_id("paid").inner_text()
    assert f"BANK-{payout.pk}" in page.locator("#payout-requests").inner_text()
    page.get_by_role("button", name="Show statement").click()
    page.wait_for_url("**/teacher/earnings/statement/?month=*")
    summary = page.locator("#statement-summary").inner_text()
    assert "Paid out −600 tokens" in summary.replace("\t", " ")  # the tokens filter writes a true minus
    assert "✓" in page.get_by_test_id("reconciles").inner_text()
    balances = teacher_balances(teacher)
    assert (balances.available, balances.held, balances.paid) == (200, 0, 600) and balances.identity_holds
