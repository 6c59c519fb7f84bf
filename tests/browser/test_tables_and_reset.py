"""Browser checks of issue 15 in headless Chromium (Debian's package via Playwright): paging the
catalog with and without a search, a learner's plain offer message, a CSV download with the
page's columns, and the password-reset flow read from the locmem outbox (the live server runs in
a thread of this process, so ``django.core.mail.outbox`` is shared)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from learners.services.suggestions import clear_suggestion_cache
from learners.views import CATALOG_PAGE_SIZE
from tests.factories import (
    CourseFactory,
    LearnerFactory,
    OfferFactory,
    PriceRecommendationFactory,
    StaffFactory,
    TeacherFactory,
)

pytestmark = pytest.mark.browser

PASSWORD = "pass-word-123"  # the factories' password


def logged_in_page(browser, live_server, user, password=PASSWORD):
    page = browser.new_context(accept_downloads=True).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def catalog_codes(page) -> list[str]:
    return page.locator("#catalog-table tbody tr td:first-child .muted").all_inner_texts()


@pytest.fixture
def long_catalog(transactional_db):
    clear_suggestion_cache()
    teacher = TeacherFactory()
    for n in range(CATALOG_PAGE_SIZE + 5):
        CourseFactory(teacher=teacher, code=f"C5{n:04d}", title=f"Violin lesson {n}")
    for n in range(CATALOG_PAGE_SIZE + 3):
        CourseFactory(teacher=teacher, code=f"C6{n:04d}", title=f"Pottery class {n}")
    yield LearnerFactory()
    clear_suggestion_cache()


def test_paging_the_catalog_with_and_without_a_search(live_server, browser, long_catalog):
    page = logged_in_page(browser, live_server, long_catalog.user)
    page.goto(f"{live_server.url}/learner/courses/")
    first = catalog_codes(page)
    assert len(first) == CATALOG_PAGE_SIZE
    page.get_by_role("link", name="next →").click()
    page.get_by_text("page 2 of 3").wait_for()
    second = catalog_codes(page)
    assert second and not set(second) & set(first)

    page.goto(f"{live_server.url}/learner/courses/")
    with page.expect_response(lambda r: "q=pottery" in r.url and r.status == 200):
        page.fill("input[name=q]", "pottery")
    page.get_by_test_id("result-count").filter(has_text=f"{CATALOG_PAGE_SIZE + 3} courses").wait_for()
    searched = catalog_codes(page)
    assert all(code.startswith("C6") for code in searched)
    next_link = page.get_by_role("link", name="next →")
    assert "q=pottery" in next_link.get_attribute("href")
    next_link.click()
    page.get_by_text("page 2 of 2").wait_for()
    page.wait_for_url(re.compile(r"q=pottery"))
    rest = catalog_codes(page)
    assert len(rest) == 3 and all(code.startswith("C6") for code in rest)
    assert not set(rest) & set(searched)
    assert page.locator("input[name=q]").input_value() == "pottery"


def test_a_learner_reads_a_plain_offer_message(live_server, browser, transactional_db):
    clear_suggestion_cache()
    course = CourseFactory(title="Watercolour basics", price_tokens=200)
    learner = LearnerFactory()
    OfferFactory(
        learner=learner,
        course=course,
        discount_pct=Decimal("20"),
        reason="20% off: at this learner's price sensitivity and a course elasticity of -1.89, "
        "the extra chance to buy outweighs the discount.",
        expires_at=timezone.now() + timedelta(days=3),
    )
    page = logged_in_page(browser, live_server, learner.user)
    for path in (f"/learner/courses/{course.code}/", "/learner/offers/"):
        page.goto(f"{live_server.url}{path}")
        text = page.locator("main").inner_text()
        assert "20%" in text and course.title in text
        for internal in ("elasticity", "sensitivity", "-1.89", "this learner"):
            assert internal not in text, (path, internal)
    page.goto(f"{live_server.url}/learner/courses/{course.code}/")
    message = page.get_by_test_id("offer-message").inner_text()
    assert "20%" in message and "elasticity" not in message
    clear_suggestion_cache()


def test_staff_download_the_price_advice_csv_with_the_page_columns(live_server, browser, transactional_db):
    ada = TeacherFactory(display_name="Ada", external_id="T-ADA")
    PriceRecommendationFactory(course=CourseFactory(code="C40001", teacher=ada, category="test_prep"))
    CourseFactory(code="C40002")
    page = logged_in_page(browser, live_server, StaffFactory())
    page.goto(f"{live_server.url}/teacher/courses/?teacher=T-ADA")
    columns = [t.strip() for t in page.locator("#all-courses thead th").all_inner_texts() if t.strip()]
    with page.expect_download() as info:
        page.get_by_test_id("advice-csv").click()
    download = info.value
    assert download.suggested_filename == "price-advice.csv"
    with open(download.path(), encoding="utf-8") as handle:
        header, *rows = list(csv.reader(io.StringIO(handle.read())))
    assert header == columns
    assert [row[:5] + row[6:] for row in rows] == [
        ["C40001", "Ada", "Test preparation", "100", "110", "Medium"]
    ]
    assert int(rows[0][5]) > 0  # the earnings change, a whole number of tokens


def test_password_reset_by_the_mailed_link_then_log_in(live_server, browser, transactional_db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    learner = LearnerFactory(user__email="reset-me@example.com")
    mail.outbox = []
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name=re.compile("password", re.I)).click()
    page.wait_for_url(re.compile(r"/accounts/password_reset/$"))
    page.fill("input[name=email]", "reset-me@example.com")
    page.click("button[type=submit]")
    page.get_by_test_id("reset-sent").wait_for()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    page.goto(f"{live_server.url}{link}")
    page.fill("input[name=new_password1]", "a-fresh-pass-2026")
    page.fill("input[name=new_password2]", "a-fresh-pass-2026")
    page.click("button[type=submit]")
    page.get_by_test_id("reset-complete").wait_for()
    signed = logged_in_page(browser, live_server, learner.user, password="a-fresh-pass-2026")
    signed.wait_for_url(re.compile(r"/learner/"))
    assert "/accounts/login/" not in signed.url
