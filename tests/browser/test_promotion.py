"""Staff promote and archive demand models in headless Chromium (issue 15, defects 2 and 5): a
promotion is confirmed first, flags the advice computed with the old model as stale on the course
page and recomputes it; archiving the production model asks for a second confirmation."""

from __future__ import annotations

import re

import pytest

from analytics.models import ModelVersion
from analytics.services.pipeline import start_pipeline_run
from analytics.services.registry import clear_model_cache
from pricing.models import AdviceRun, PriceRecommendation
from pricing.services.advice import run_advice_recompute
from tests.factories import StaffFactory
from tests.pricing.db_world import load_synthetic_world

pytestmark = pytest.mark.browser

PASSWORD = "promotion-pass-123"


@pytest.fixture
def registry_world(transactional_db):
    """Committed data for the live server's thread: a world, its model, its advice, and staff."""
    load_synthetic_world(n_courses=60, weeks=30, seed=4)
    clear_model_cache()
    run = start_pipeline_run(kind="demand", sync=True, params={"bootstrap_reps": 2, "cv_folds": 2})
    assert run.status == "succeeded", run.error
    for queued in AdviceRun.objects.filter(status="queued"):
        run_advice_recompute(run_id=queued.pk)
    staff = StaffFactory()
    staff.set_password(PASSWORD)
    staff.save()
    yield staff
    clear_model_cache()


def sign_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile("/dashboard/$"))


def test_promotion_is_confirmed_flags_stale_advice_and_the_recompute_freshens_it(
    live_server, browser_page, registry_world
):
    page, staff = browser_page, registry_world
    production = ModelVersion.objects.get(name="demand", stage="production")
    other = ModelVersion.objects.filter(name="demand", stage="staging").order_by("version").first()
    advice = PriceRecommendation.objects.filter(status="pending").select_related("course").first()
    assert advice.model_version == production.version
    sign_in(page, live_server, staff)

    page.goto(f"{live_server.url}/dashboard/models/")
    page.get_by_test_id(f"promote-{other.pk}").click()
    page.wait_for_url(re.compile(f"/dashboard/models/{other.pk}/promote/confirm/$"))
    assert f"demand v{production.version}" in page.get_by_test_id("leaving-production").inner_text()
    assert "is recomputed in the background" in page.get_by_test_id("advice-recomputed").inner_text()
    page.get_by_test_id("confirm-stage-change").click()
    page.wait_for_url(re.compile("/dashboard/models/$"))
    page.get_by_text(f"demand v{other.version} is now in production").wait_for()
    page.get_by_text("Recomputing price advice").wait_for()  # the advice run's progress

    page.goto(f"{live_server.url}/teacher/courses/{advice.course.code}/")
    flag = page.get_by_test_id("advice-stale")
    assert (
        f"Computed with model v{production.version}; v{other.version} is in production now; recomputing…"
        in flag.inner_text()
    )
    assert page.get_by_test_id("apply").count() == 0, "stale advice must not be offered for applying"

    # The recompute the promotion queued (a worker's job; run here, as the worker would).
    run = AdviceRun.objects.get(started_by=staff)
    run_advice_recompute(run_id=run.pk)
    page.get_by_text("Price advice recomputed").wait_for()  # the progress box polled its way to done
    page.reload()
    assert page.get_by_test_id("advice-stale").count() == 0
    assert f"Model v{other.version} (" in page.locator("#advice").inner_text()


def test_archiving_the_production_model_asks_for_a_second_confirmation(
    live_server, browser_page, registry_world
):
    page = browser_page
    production = ModelVersion.objects.get(name="demand", stage="production")
    sign_in(page, live_server, registry_world)

    page.goto(f"{live_server.url}/dashboard/models/")
    page.get_by_test_id(f"archive-{production.pk}").click()
    page.wait_for_url(re.compile(f"/dashboard/models/{production.pk}/archive/confirm/$"))
    assert "No demand model will be in production" in page.get_by_test_id("empties-production").inner_text()

    page.get_by_test_id("confirm-stage-change").click()  # without ticking the second confirmation
    assert "tick the box" in page.get_by_test_id("understand-error").inner_text()
    production.refresh_from_db()
    assert production.stage == "production"

    page.get_by_test_id("understand").check()
    page.get_by_test_id("confirm-stage-change").click()
    page.wait_for_url(re.compile("/dashboard/models/$"))
    page.get_by_text("No demand model is in production now.").wait_for()
    production.refresh_from_db()
    assert production.stage == "archived"
