"""A teacher's journey in headless Chromium (Debian's package, driven by Playwright): log in, open
a course, move the what-if slider, apply the advised price, see it in the price history; another
teacher's course is a 404."""

from __future__ import annotations

import re

import pytest

from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache
from pricing.models import PriceRecommendation
from pricing.services.advice import compute_recommendations
from tests.pricing.db_world import load_synthetic_world
from tokenecon.models import Course, PriceChange

pytestmark = pytest.mark.browser

PASSWORD = "journey-pass-123"


@pytest.fixture
def priced_world(transactional_db):
    """Committed data (the live server runs in another thread): a world, a model and advice."""
    load_synthetic_world(n_courses=60, weeks=30, seed=4)
    clear_model_cache()
    run = start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 2, "cv_folds": 2})
    assert run.status == "succeeded", run.error
    compute_recommendations()
    advice = next(
        (
            r
            for r in PriceRecommendation.objects.filter(status="pending").select_related(
                "course__teacher__user"
            )
            if r.changes_price
        ),
        None,
    )
    assert advice is not None, "No price-moving advice in the browser test's world."
    user = advice.course.teacher.user
    user.set_password(PASSWORD)
    user.save()
    yield advice
    clear_model_cache()


def test_teacher_moves_the_slider_applies_advice_and_cannot_open_others(
    live_server, browser_page, priced_world
):
    page = browser_page
    advice = priced_world
    course = advice.course
    teacher_user = course.teacher.user

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", teacher_user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/teacher/")
    page.click(f"a[href='/teacher/courses/{course.code}/']")
    page.wait_for_url(re.compile(f"/teacher/courses/{course.code}/$"))
    assert page.get_by_test_id("current-price").inner_text() == f"{course.price_tokens} tokens"
    assert page.locator("#demand-chart .js-plotly-plot").count() == 1, "the demand curve did not render"

    enrollments = page.get_by_test_id("what-if-enrollments")
    before = enrollments.inner_text()
    slider = page.locator("#price-slider")
    target = int(slider.get_attribute("max"))
    with page.expect_response(lambda r: "/what-if/" in r.url and r.status == 200):
        slider.fill(str(target))
    page.get_by_test_id("what-if-price").filter(has_text=f"{target} tokens").wait_for()
    assert enrollments.inner_text() != before, "the slider did not update the predicted enrollments"
    assert page.locator("#price-slider-value").inner_text() == str(target)
    marks = page.evaluate(
        """() => Array.from(document.querySelectorAll('#course-charts .plotly-figure')).map(
            el => (el.layout.shapes || []).filter(s => s.name === 'what-if').map(s => [s.x0, s.visible]))"""
    )
    assert marks == [[[target, True]], [[target, True]]], "the slider's price is not marked on both charts"
    assert "–" in page.get_by_test_id("what-if-enrollments-interval").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("apply").click()
    page.get_by_text(f"now costs {advice.recommended_price_tokens} tokens").wait_for()
    assert page.get_by_test_id("current-price").inner_text() == f"{advice.recommended_price_tokens} tokens"
    history = page.locator("#price-history tbody tr").first.inner_text()
    assert "Recommendation" in history and teacher_user.username in history
    assert str(advice.recommended_price_tokens) in history
    course.refresh_from_db()
    assert course.price_tokens == advice.recommended_price_tokens
    assert PriceChange.objects.filter(course=course, source="recommendation").count() == 1

    other = Course.objects.exclude(teacher=course.teacher).first()
    response = page.goto(f"{live_server.url}/teacher/courses/{other.code}/")
    assert response.status == 404
