"""The teacher portal pages: who may open what, the course page with curves and the slider,
applying and dismissing advice, earnings, and the staff's recompute button."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.urls import reverse

from pricing.models import AdviceRun, PriceRecommendation
from pricing.services.model_source import production_demand_version
from pricing.tasks import compute_price_recommendations
from tests.factories import (
    AdviceRunFactory,
    CourseFactory,
    LearnerFactory,
    PriceRecommendationFactory,
    StaffFactory,
    TeacherFactory,
)
from tests.helpers import signed_in
from tests.pricing.db_world import trained_world as priced_world
from tokenecon.models import Course, PriceChange, Teacher
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.earnings import release_due
from tokenecon.services.enrollment import purchase_course
from tokenecon.services.payouts import approve_payout, request_payout
from tokenecon.staticfiles import PLOTLY_JS_STATIC

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def trained_world(django_db_setup, django_db_blocker):
    """A small world with a production demand model and stored advice, shared by this module."""
    with django_db_blocker.unblock(), priced_world(seed=3) as run:
        yield run


@pytest.fixture
def world(trained_world):
    own_teacher, other_teacher = Teacher.objects.filter(courses__isnull=False).distinct().order_by("pk")[:2]
    return {
        "teacher": own_teacher,
        "course": own_teacher.courses.order_by("code").first(),
        "other_course": other_teacher.courses.order_by("code").first(),
    }


def moving_advice() -> PriceRecommendation:
    for recommendation in PriceRecommendation.objects.filter(status="pending").select_related(
        "course__teacher"
    ):
        if recommendation.changes_price:
            return recommendation
    pytest.fail("No price-moving advice in the test world.")


def course_urls(code: str) -> dict[str, str]:
    return {
        "page": reverse("pricing:course_detail", args=[code]),
        "what_if": reverse("pricing:course_what_if", args=[code]) + "?price=50",
    }


# --- who may open what ---------------------------------------------------------------------------


def test_portal_home_by_role(client, world):
    url = reverse("pricing:teacher_home")
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert signed_in(client, LearnerFactory().user).get(url).status_code == 403
    assert signed_in(client, world["teacher"].user).get(url).status_code == 200
    # Staff have their own list of every course.
    assert signed_in(client, StaffFactory()).get(url).status_code == 403


def test_staff_course_list_by_role(client, world):
    url = reverse("pricing:staff_courses")
    assert client.get(url).status_code == 302
    assert signed_in(client, LearnerFactory().user).get(url).status_code == 403
    assert signed_in(client, world["teacher"].user).get(url).status_code == 403
    assert signed_in(client, StaffFactory()).get(url).status_code == 200


def test_staff_apply_selected_advice_in_bulk(client, trained_world):
    moving = [r for r in PriceRecommendation.objects.filter(status="pending") if r.changes_price][:3]
    assert moving, "No price-moving advice in the test world."
    url = reverse("pricing:apply_selected")
    data = {"recommendation": [r.pk for r in moving]}
    assert client.post(url, data).status_code == 302
    assert signed_in(client, LearnerFactory().user).post(url, data).status_code == 403
    assert signed_in(client, TeacherFactory().user).post(url, data).status_code == 403
    staff = StaffFactory()
    page = signed_in(client, staff).post(url, {**data, "confirm": "1"}, follow=True).content.decode()
    assert f"Applied {len(moving)} recommendation(s)." in page
    for recommendation in moving:
        recommendation.refresh_from_db()
        assert recommendation.status == "applied" and recommendation.decided_by == staff
    again = client.post(url, {**data, "confirm": "1"}, follow=True).content.decode()
    assert "Applied 0 recommendation(s)." in again and "only pending ones" in again
    assert "Select at least one" in client.post(url, {}, follow=True).content.decode()


@pytest.mark.parametrize("kind", ["page", "what_if"])
def test_course_pages_by_role(client, world, kind):
    own = course_urls(world["course"].code)[kind]
    other = course_urls(world["other_course"].code)[kind]
    client.defaults["HTTP_HX_REQUEST"] = "true"
    response = client.get(own)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert signed_in(client, LearnerFactory().user).get(own).status_code == 403
    signed_in(client, world["teacher"].user)
    assert client.get(own).status_code == 200
    assert client.get(other).status_code == 404
    assert client.get(course_urls("C99999")[kind]).status_code == 404
    signed_in(client, StaffFactory())
    assert client.get(own).status_code == 200
    assert client.get(other).status_code == 200


@pytest.mark.parametrize("action", ["apply_recommendation", "dismiss_recommendation"])
def test_decisions_by_role(client, trained_world, action):
    advice = moving_advice()
    url = reverse(f"pricing:{action}", args=[advice.course.code])
    data = {"recommendation": advice.pk}
    response = client.post(url, data)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert signed_in(client, LearnerFactory().user).post(url, data).status_code == 403
    assert signed_in(client, TeacherFactory().user).post(url, data).status_code == 404
    signed_in(client, advice.course.teacher.user)
    assert client.get(url).status_code == 405
    advice.refresh_from_db()
    assert advice.status == "pending"


def test_earnings_page_by_role(client, world):
    url = reverse("pricing:earnings")
    assert client.get(url).status_code == 302
    assert signed_in(client, LearnerFactory().user).get(url).status_code == 403
    assert signed_in(client, StaffFactory()).get(url).status_code == 403
    assert signed_in(client, world["teacher"].user).get(url).status_code == 200


def test_recompute_button_is_staff_only_and_queues_the_task(
    client, trained_world, django_capture_on_commit_callbacks
):
    url = reverse("pricing:compute_recommendations")
    assert client.post(url).status_code == 302
    assert signed_in(client, LearnerFactory().user).post(url).status_code == 403
    assert signed_in(client, TeacherFactory().user).post(url).status_code == 403
    staff = StaffFactory()
    signed_in(client, staff)
    with mock.patch("pricing.services.advice.current_app") as celery:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url)
    assert response.status_code == 302
    run = AdviceRun.objects.get(started_by=staff)  # (the world's own recompute ran when it was made)
    assert run.status == "queued"
    celery.send_task.assert_called_once_with("pricing.compute_price_recommendations", args=[run.pk])
    # The courses page follows that run.
    page = client.get(reverse("pricing:staff_courses")).content.decode()
    assert reverse("pricing:advice_run_status", args=[run.pk]) in page
    assert client.get(url).status_code == 405


def test_recompute_progress_polls_until_the_run_has_finished(client, trained_world):
    run = AdviceRunFactory()
    status_url = reverse("pricing:advice_run_status", args=[run.pk])
    assert signed_in(client, TeacherFactory().user).get(status_url).status_code == 403
    signed_in(client, StaffFactory())
    queued = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "queued" in queued and 'hx-trigger="every 1s"' in queued
    AdviceRun.objects.filter(pk=run.pk).update(
        status="running", progress_pct=40, courses_done=800, courses_total=2000
    )
    running = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "running" in running and 'hx-trigger="every 1s"' in running
    assert "800 of 2,000 courses" in running and 'aria-valuenow="40"' in running
    AdviceRun.objects.filter(pk=run.pk).update(
        status="succeeded", progress_pct=100, recommendations_stored=2000
    )
    done = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "2,000 recommendations stored" in done
    assert "hx-trigger" not in done
    # Finished: the courses page stops following it.
    assert "advice-task" not in client.get(reverse("pricing:staff_courses")).content.decode()


def test_recompute_progress_shows_a_failure(client, trained_world):
    run = AdviceRunFactory(status="failed", error="No demand model in production")
    body = signed_in(client, StaffFactory()).get(
        reverse("pricing:advice_run_status", args=[run.pk]), HTTP_HX_REQUEST="true"
    )
    assert "Failed" in body.content.decode()
    assert "No demand model in production" in body.content.decode()
    assert "hx-trigger" not in body.content.decode()


def test_recompute_progress_without_htmx_is_a_page_and_with_htmx_the_card(client, trained_world):
    run = AdviceRunFactory(status="running", progress_pct=10)
    signed_in(client, StaffFactory())
    url = reverse("pricing:advice_run_status", args=[run.pk])
    page = client.get(url)
    card = client.get(url, HTTP_HX_REQUEST="true")
    assert "<html" in page.content.decode() and 'id="advice-task"' in page.content.decode()
    assert "<html" not in card.content.decode() and 'id="advice-task"' in card.content.decode()
    assert "HX-Request" in page["Vary"] and "HX-Request" in card["Vary"]
    assert client.get(reverse("pricing:advice_run_status", args=[run.pk + 1000])).status_code == 404


def test_pressing_recompute_runs_the_task_to_completion_and_the_card_stops_polling(
    client, trained_world, django_capture_on_commit_callbacks
):
    signed_in(client, StaffFactory())
    with mock.patch("pricing.services.advice.current_app") as celery:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("pricing:compute_recommendations"))
    (run_id,) = celery.send_task.call_args.kwargs["args"]
    assert compute_price_recommendations.apply(args=[run_id]).get() == Course.objects.count()
    card = client.get(reverse("pricing:advice_run_status", args=[run_id]), HTTP_HX_REQUEST="true")
    assert f"{Course.objects.count()} recommendations stored" in card.content.decode()
    assert "hx-trigger" not in card.content.decode()


# --- what the pages show -------------------------------------------------------------------------


def test_home_lists_own_courses_with_advice_and_badge(client, world):
    teacher = world["teacher"]
    body = signed_in(client, teacher.user).get(reverse("pricing:teacher_home")).content.decode()
    for course in teacher.courses.all():
        assert course.code in body
    assert world["other_course"].code not in body
    pending = PriceRecommendation.objects.filter(course__teacher=teacher, status="pending")
    assert pending.exists()
    for advice in pending:
        assert f">{advice.recommended_price_tokens}<" in body
    if any(a.changes_price for a in pending):
        assert "advice pending" in body


def test_staff_list_shows_every_course_paginated(client, trained_world):
    body = signed_in(client, StaffFactory()).get(reverse("pricing:staff_courses")).content.decode()
    assert "Recompute price advice" in body
    assert body.count('href="/teacher/courses/C') == min(50, Course.objects.count())


def test_course_page_shows_curves_slider_strategies_and_history(client, world):
    course = world["course"]
    advice = PriceRecommendation.objects.get(course=course, status="pending")
    body = signed_in(client, world["teacher"].user).get(course_urls(course.code)["page"]).content.decode()
    assert f"/static/{PLOTLY_JS_STATIC}" in body and "cdn" not in body.lower()
    assert 'id="demand-chart"' in body and 'id="revenue-chart"' in body
    assert 'class="plotly-figure"' in body and "tonexty" in body  # curves with shaded bands
    assert 'type="range"' in body and "hx-get" in body
    assert advice.reason.split(".")[0] in body.replace("&#x27;", "'")
    for strategy in advice.details["strategies"]:
        assert strategy["strategy"] in body
    assert 'id="price-history"' in body
    assert (
        body.count("<tr>", body.index('id="price-history"'))
        >= PriceChange.objects.filter(course=course).count()
    )


def test_what_if_answers_with_a_partial_that_changes_with_price(client, world):
    signed_in(client, world["teacher"].user)
    url = reverse("pricing:course_what_if", args=[world["course"].code])
    cheap = client.get(url, {"price": 20}, HTTP_HX_REQUEST="true")
    dear = client.get(url, {"price": 300}, HTTP_HX_REQUEST="true")
    assert cheap.status_code == dear.status_code == 200
    assert "<html" not in cheap.content.decode()
    assert 'data-testid="what-if-enrollments"' in cheap.content.decode()
    assert cheap.content != dear.content


def test_what_if_without_htmx_opens_the_course_page_at_that_price(client, world):
    signed_in(client, world["teacher"].user)
    code = world["course"].code
    response = client.get(reverse("pricing:course_what_if", args=[code]), {"price": 77})
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    page = response.content.decode()
    assert "<html" in page and 'id="demand-chart"' in page
    assert 'value="77"' in page and "77 tokens" in page


def test_what_if_with_htmx_answers_the_fragment_and_varies_on_hx_request(client, world):
    signed_in(client, world["teacher"].user)
    url = reverse("pricing:course_what_if", args=[world["course"].code])
    response = client.get(url, {"price": 77}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    assert "<html" not in response.content.decode() and "77 tokens" in response.content.decode()


def test_what_if_without_htmx_and_a_bad_price_shows_the_page_with_the_error(client, world):
    signed_in(client, world["teacher"].user)
    course = world["course"]
    response = client.get(reverse("pricing:course_what_if", args=[course.code]), {"price": "abc"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<html" in page and 'class="error"' in page
    assert f'value="{course.price_tokens}"' in page  # the slider stays at today's price


@pytest.mark.parametrize("price", ["-5", "0", "abc", "100000", ""])
def test_what_if_rejects_bad_prices(client, world, price):
    signed_in(client, world["teacher"].user)
    response = client.get(
        reverse("pricing:course_what_if", args=[world["course"].code]),
        {"price": price},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()


def test_teacher_applies_advice_and_sees_the_new_price_and_history(client, trained_world):
    advice = moving_advice()
    course = advice.course
    signed_in(client, course.teacher.user)
    response = client.post(
        reverse("pricing:apply_recommendation", args=[course.code]),
        {"recommendation": advice.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("pricing:course_detail", args=[course.code])
    course.refresh_from_db()
    assert course.price_tokens == advice.recommended_price_tokens
    change = PriceChange.objects.filter(course=course).latest("effective_at")
    assert change.source == "recommendation" and change.approved_by == course.teacher.user
    page = client.get(reverse("pricing:course_detail", args=[course.code])).content.decode()
    assert f"now costs {advice.recommended_price_tokens} tokens" in page
    assert "Recommendation" in page[page.index('id="price-history"') :]
    # The advice is spent: applying it again is refused with a message, nothing written.
    changes = PriceChange.objects.count()
    again = client.post(
        reverse("pricing:apply_recommendation", args=[course.code]),
        {"recommendation": advice.pk},
        follow=True,
    )
    assert "only pending ones" in again.content.decode()
    assert PriceChange.objects.count() == changes


def test_teacher_dismisses_advice(client, trained_world):
    advice = moving_advice()
    signed_in(client, advice.course.teacher.user)
    response = client.post(
        reverse("pricing:dismiss_recommendation", args=[advice.course.code]), {"recommendation": advice.pk}
    )
    assert response.status_code == 302
    advice.refresh_from_db()
    assert advice.status == "dismissed" and advice.decided_by == advice.course.teacher.user


def test_course_page_without_a_model_says_so(client, world, monkeypatch):
    from pricing.services import model_source

    def no_model():
        raise model_source.NoDemandModel("No production version of demand.")

    monkeypatch.setattr(model_source, "_provider", no_model)
    response = signed_in(client, world["teacher"].user).get(course_urls(world["course"].code)["page"])
    assert response.status_code == 200
    assert "No production version of demand." in response.content.decode()


def test_earnings_page_shows_weekly_cumulative_earnings_and_payouts(client, world, settings):
    settings.TOKEN_PAYOUT_MIN_TOKENS = 1
    teacher, course = world["teacher"], world["course"]
    for i, when in enumerate([datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)]):
        learner = LearnerFactory()
        top_up_wallet(learner=learner, amount_tokens=1000, idempotency_key=f"top-up-{i}", at=when)
        purchase_course(
            learner=learner, course=course, idempotency_key=f"buy-{i}", at=when + timedelta(hours=1)
        )
    # The refund window passes, the teacher asks for 50 tokens and staff pay them.
    release_due(now=datetime(2026, 4, 1, tzinfo=UTC), teacher=teacher)
    payout = request_payout(teacher=teacher, amount_tokens=50, idempotency_key="payout-1")
    approve_payout(payout, by=StaffFactory(), reference="March payout")
    body = signed_in(client, teacher.user).get(reverse("pricing:earnings")).content.decode()
    assert 'id="earnings-chart"' in body and "Cumulative earnings" in body
    assert "March payout" in body and "Paid" in body
    assert "50 tokens" in body.split('data-testid="paid"')[1].split("</div>")[0]
    earned = 2 * course.price_tokens - 2 * round(course.price_tokens * 0.2)
    assert (
        abs(int(body.split("Earned to date")[1].split("tokens")[0].split(">")[-1].replace(",", "")) - earned)
        <= 2
    )


def test_admin_lists_recommendations_and_applies_selected(client, trained_world):
    advice = moving_advice()
    signed_in(client, StaffFactory())
    listing = client.get("/admin/pricing/pricerecommendation/?status__exact=pending")
    assert listing.status_code == 200
    response = client.post(
        "/admin/pricing/pricerecommendation/",
        {"action": "apply_selected", "_selected_action": [advice.pk]},
        follow=True,
    )
    assert response.status_code == 200
    advice.refresh_from_db()
    assert advice.status == "applied"
    assert client.get("/admin/pricing/pricingsettings/").status_code == 200


@pytest.mark.parametrize("recommendation", ["", "abc", "-1"])
def test_decisions_reject_a_malformed_recommendation_id(client, world, recommendation):
    signed_in(client, world["teacher"].user)
    url = reverse("pricing:apply_recommendation", args=[world["course"].code])
    assert client.post(url, {"recommendation": recommendation}).status_code == 400


def test_decisions_on_another_course_s_recommendation_are_404(client, world):
    advice = PriceRecommendation.objects.filter(course=world["other_course"], status="pending").first()
    signed_in(client, world["teacher"].user)
    url = reverse("pricing:apply_recommendation", args=[world["course"].code])
    assert client.post(url, {"recommendation": advice.pk}).status_code == 404
    advice.refresh_from_db()
    assert advice.status == "pending"


def test_advised_changes_count_only_advice_that_moves_a_price_across_every_page(client, db):
    teacher = TeacherFactory()
    courses = [CourseFactory(teacher=teacher, code=f"ADV{i:03d}", price_tokens=100) for i in range(52)]
    # Advice of the production model (advice of another version is stale and not counted).
    version = production_demand_version() or 1
    for course in courses[:3]:
        PriceRecommendationFactory(course=course, recommended_price_tokens=110, model_version=version)
    for course in courses[3:6]:
        # Keeping the price.
        PriceRecommendationFactory(course=course, recommended_price_tokens=100, model_version=version)
    PriceRecommendationFactory(
        course=courses[51], recommended_price_tokens=90, model_version=version
    )  # page 2
    response = signed_in(client, teacher.user).get(reverse("pricing:teacher_home"))
    assert response.context["pending_count"] == 4
    keep = PriceRecommendation.objects.filter(course=courses[3]).get()
    client.post(
        reverse("pricing:dismiss_recommendation", args=[courses[3].code]), {"recommendation": keep.pk}
    )
    assert signed_in(client, teacher.user).get(reverse("pricing:teacher_home")).context["pending_count"] == 4
    move = PriceRecommendation.objects.filter(course=courses[0]).get()
    client.post(
        reverse("pricing:dismiss_recommendation", args=[courses[0].code]), {"recommendation": move.pk}
    )
    assert client.get(reverse("pricing:teacher_home")).context["pending_count"] == 3


def test_staff_see_the_price_changes_and_confirm_before_any_live_price_moves(client, trained_world):
    moving = [r for r in PriceRecommendation.objects.filter(status="pending") if r.changes_price][:2]
    prices = {r.course_id: r.course.price_tokens for r in moving}
    url = reverse("pricing:apply_selected")
    response = signed_in(client, StaffFactory()).post(url, {"recommendation": [r.pk for r in moving]})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="change-to-confirm"') == len(moving)
    for recommendation in moving:
        assert (
            recommendation.course.code in html and f"{recommendation.recommended_price_tokens} tokens" in html
        )
    assert 'name="confirm" value="1"' in html
    assert {c.pk: c.price_tokens for c in Course.objects.filter(pk__in=prices)} == prices
    assert not PriceRecommendation.objects.filter(pk__in=[r.pk for r in moving], status="applied").exists()
