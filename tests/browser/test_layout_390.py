"""Every main page of each role on a 390 x 844 phone screen (headless Chromium): the page never
scrolls sideways (document.scrollingElement.scrollWidth <= 390), every link and button of the
main navigation is on screen, wide tables scroll inside their own box, and form fields fit."""

from __future__ import annotations

import pytest

from analytics.models import PipelineRun
from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache
from learners.services.suggestions import clear_suggestion_cache
from pricing.services.advice import compute_recommendations
from tests.factories import LearnerFactory, StaffFactory
from tests.pricing.db_world import load_synthetic_world
from tokenecon.models import Course
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844
PASSWORD = "pass-word-123"  # the factories' password

# What stretches a page: the widths that matter, measured in the page.
MEASURE = """() => {
  const doc = document.scrollingElement;
  const nav = [...document.querySelectorAll('header nav a, header nav button')].map(el => {
    const r = el.getBoundingClientRect();
    return {text: el.textContent.trim(), left: r.left, right: r.right, width: r.width, height: r.height};
  });
  const wide = [...document.querySelectorAll('main *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .filter(el => !el.closest('table, .table-scroll, .plotly-figure, pre'))
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className
      ? '.' + el.className : ''));
  const tables = [...document.querySelectorAll('main table')].map(t => ({
    box: t.getBoundingClientRect().right <= window.innerWidth + 1,
    scrolls: t.scrollWidth > t.clientWidth,
    overflow: getComputedStyle(t).overflowX,
  }));
  const fields = [...document.querySelectorAll(
      'main input:not([type=hidden]):not([type=checkbox]), main select')]
    .filter(el => el.offsetParent !== null)
    .map(el => el.getBoundingClientRect().right <= window.innerWidth + 1);
  return {scrollWidth: doc.scrollWidth, nav, wide, tables, fields};
}"""


@pytest.fixture
def world(transactional_db):
    """Committed data for the live server: a trained demand model with advice (the teacher's
    curves, the staff advice table), a learner with tokens and purchases, a staff member."""
    clear_suggestion_cache()
    load_synthetic_world(n_courses=40, weeks=26, seed=7)
    clear_model_cache()
    run = start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 2, "cv_folds": 2})
    assert run.status == "succeeded", run.error
    compute_recommendations()
    course = Course.objects.order_by("pk").first()
    teacher = course.teacher.user
    teacher.set_password(PASSWORD)
    teacher.save()
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=5000, idempotency_key="layout-390")
    for n, bought in enumerate(Course.objects.order_by("pk")[:3]):
        purchase_course(learner=learner, course=bought, idempotency_key=f"layout-390-{n}")
    yield {
        "course": course,
        "teacher": teacher,
        "learner": learner.user,
        "staff": StaffFactory(),
        "run": PipelineRun.objects.order_by("-pk").first(),
    }
    clear_model_cache()
    clear_suggestion_cache()


def phone_page(browser, live_server, user=None):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(20_000)
    if user is not None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
    return page


def problems_of(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    page.wait_for_load_state("networkidle")
    m = page.evaluate(MEASURE)
    found = []
    if m["scrollWidth"] > WIDTH:
        found.append(f"{url}: the page is {m['scrollWidth']} px wide (wider: {m['wide']})")
    for item in m["nav"]:
        if item["width"] == 0 or item["left"] < 0 or item["right"] > WIDTH + 0.5:
            found.append(f"{url}: nav item {item['text']!r} is off screen ({item})")
    for i, table in enumerate(m["tables"]):
        if not table["box"]:
            found.append(f"{url}: table {i} runs past the screen")
        if table["scrolls"] and table["overflow"] not in ("auto", "scroll"):
            found.append(f"{url}: table {i} is wider than its box but cannot scroll")
    if not all(m["fields"]):
        found.append(f"{url}: a form field runs past the screen")
    return found


def test_every_main_page_fits_a_390px_phone(live_server, browser, world):
    code = world["course"].code
    pages = {
        None: ["/accounts/login/", "/accounts/password_reset/"],
        "learner": [
            "/learner/",
            "/learner/courses/",
            f"/learner/courses/{code}/",
            "/learner/wallet/",
            "/learner/offers/",
            "/learner/recommended/",
            "/learner/my-courses/",
        ],
        "teacher": [
            "/teacher/",
            "/teacher/earnings/",
            f"/teacher/courses/{code}/",
            "/teacher/coupons/",
            "/teacher/coupons/new/",
        ],
        "staff": [
            "/dashboard/",
            "/dashboard/models/",
            f"/dashboard/runs/{world['run'].pk}/",
            "/dashboard/data-quality/",
            "/teacher/courses/",
            f"/teacher/courses/{code}/",
        ],
    }
    problems = []
    for role, paths in pages.items():
        page = phone_page(browser, live_server, world[role] if role else None)
        for path in paths:
            problems += problems_of(page, f"{live_server.url}{path}")
        page.context.close()
    assert not problems, "\n".join(problems)


def test_the_catalog_table_scrolls_in_its_own_box_and_the_nav_wraps(live_server, browser, world):
    page = phone_page(browser, live_server, world["learner"])
    page.goto(f"{live_server.url}/learner/courses/")
    page.wait_for_load_state("networkidle")
    table = page.locator("main table").first
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    # Scrolling the table moves its columns, not the page.
    page.evaluate("() => { document.querySelector('main table').scrollLeft = 500; }")
    assert page.evaluate("() => window.scrollX") == 0
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= WIDTH
    # The nav's last item (log out) is reachable on screen and works.
    logout = page.locator("header nav button", has_text="Log out")
    logout_box = logout.bounding_box()
    assert logout_box and logout_box["x"] + logout_box["width"] <= WIDTH
    logout.click()
    page.wait_for_url(f"{live_server.url}/accounts/login/**")
