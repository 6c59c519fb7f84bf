"""The pages work under the Content-Security-Policy in headless Chromium (Debian's package, driven
by Playwright): the teacher's course page draws its Plotly charts, the learner catalog's htmx
search swaps its results, Swagger UI renders the API, and the browser reports no violation."""

from __future__ import annotations

import pytest

from tests.browser.test_teacher_journey import PASSWORD, priced_world  # noqa: F401 (a fixture)
from tests.factories import CourseFactory, LearnerFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Runs before any page script and outside the page's policy: collects every violation event.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def open_page(browser, live_server, username: str, password: str):
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page, console


def assert_no_violations(page, console) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert not [text for text in console if "Content Security Policy" in text], console


def test_teacher_course_page_draws_its_charts_under_the_policy(live_server, browser, priced_world):  # noqa: F811
    course = priced_world.course
    page, console = open_page(browser, live_server, course.teacher.user.username, PASSWORD)
    response = page.goto(f"{live_server.url}/teacher/courses/{course.code}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator("#demand-chart .js-plotly-plot .main-svg").first.wait_for()
    page.locator("#revenue-chart .js-plotly-plot .main-svg").first.wait_for()
    assert page.locator("#demand-chart .scatterlayer .trace").count() >= 2  # the curve and its band
    assert_no_violations(page, console)


def test_learner_catalog_search_swaps_and_swagger_ui_renders_under_the_policy(live_server, browser, db):
    for i in range(4):
        CourseFactory(title=f"Spreadsheet skills {i}")
    CourseFactory(title="Quantum computing for beginners")
    learner = LearnerFactory()
    page, console = open_page(browser, live_server, learner.user.username, "pass-word-123")
    page.goto(f"{live_server.url}/learner/courses/")
    assert page.locator("#catalog-table tbody tr").count() == 5
    with page.expect_response(lambda r: "q=quantum" in r.url and r.status == 200):
        page.fill("input[name=q]", "quantum")
    page.get_by_test_id("result-count").filter(has_text="1 course").wait_for()
    assert page.locator("#catalog-table tbody tr").count() == 1
    assert_no_violations(page, console)

    staff = StaffFactory()
    page, console = open_page(browser, live_server, staff.username, "pass-word-123")
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() > 10
    assert_no_violations(page, console)
