import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from analytics.data_quality import assess_data_quality
from tests.factories import (
    EnrollmentFactory,
    LearnerFactory,
    StaffFactory,
    TeacherFactory,
    build_marketplace,
)
from tests.helpers import signed_in
from tokenecon.models import Account, Enrollment, EnrollmentStatus
from tokenecon.services.accounts import wallet_of

pytestmark = pytest.mark.django_db


def failing_keys(report) -> set[str]:
    return {c.key for c in report.checks if not c.passed}


def test_clean_marketplace_passes_every_critical_check():
    build_marketplace()
    report = assess_data_quality()
    assert report.critical_failures == []
    assert report.score >= 90
    keys = {c.key for c in report.checks}
    assert {
        "balances_match_entries",
        "live_one_purchase",
        "refunded_has_refund",
        "course_price_range",
    } <= keys
    live = next(c for c in report.checks if c.key == "live_one_purchase")
    assert (live.checked, live.failing) == (4, 0)


def test_completed_enrollment_below_full_progress_is_flagged():
    data = build_marketplace()
    # The database allows this; only the assessment catches it.
    Enrollment.objects.filter(pk=data["enrollments"][0].pk).update(progress_pct=70)
    report = assess_data_quality()
    check = next(c for c in report.checks if c.key == "completed_progress_100")
    assert (check.failing, check.passed, check.critical) == (1, False, True)
    assert failing_keys(report) & {c.key for c in report.critical_failures} == {"completed_progress_100"}
    assert report.score < assess_score_after_fix(data)


def assess_score_after_fix(data) -> float:
    Enrollment.objects.filter(pk=data["enrollments"][0].pk).update(progress_pct=100)
    return assess_data_quality().score


def test_balance_drifting_from_its_entries_is_flagged():
    data = build_marketplace()
    Account.objects.filter(pk=wallet_of(data["learners"][0]).pk).update(
        balance_tokens=F("balance_tokens") + 5
    )
    report = assess_data_quality()
    assert {"balances_match_entries", "balances_sum_to_zero"} <= failing_keys(report)


def test_live_enrollment_without_purchase_is_flagged():
    data = build_marketplace()
    EnrollmentFactory(
        learner=data["learners"][1],
        course=data["courses"][0],
        enrolled_at=data["enrollments"][0].enrolled_at,
        list_price_tokens=120,
        price_paid_tokens=120,
        status=EnrollmentStatus.ACTIVE,
    )
    check = next(c for c in assess_data_quality().checks if c.key == "live_one_purchase")
    assert check.failing == 1


def test_out_of_range_price_and_wallet_of_a_non_learner_are_flagged(settings):
    data = build_marketplace()
    settings.TOKEN_PRICE_MAX = 150
    teacher = TeacherFactory()
    Account.objects.create(kind="learner_wallet", owner=teacher.user)
    report = assess_data_quality()
    price = next(c for c in report.checks if c.key == "course_price_range")
    assert price.failing == 1  # the 200-token course
    assert "wallet_owner_is_learner" in failing_keys(report)
    assert data["courses"][2].price_tokens == 200


def test_assessment_uses_a_bounded_number_of_queries():
    build_marketplace()
    with CaptureQueriesContext(connection) as queries:
        assess_data_quality()
    first = len(queries)
    LearnerFactory.create_batch(5)
    with CaptureQueriesContext(connection) as queries:
        assess_data_quality()
    assert len(queries) == first < 60


def test_distributions_summarise_prices_enrollments_and_ratings():
    build_marketplace()
    dist = assess_data_quality().distributions
    assert dist["price_tokens"]["courses"] == 3
    assert sum(dist["price_tokens"]["histogram"].values()) == 3
    assert dist["enrollments_per_course"]["max"] == 2
    assert {r["category"] for r in dist["ratings_by_category"]} == {"data_science", "programming"}


def test_command_prints_a_table_and_passes_on_clean_data():
    build_marketplace()
    out = io.StringIO()
    call_command("assess_data", stdout=out)
    text = out.getvalue()
    assert "Business rules" in text and "Score" in text


def test_command_exits_1_on_a_critical_failure_and_prints_json():
    data = build_marketplace()
    Enrollment.objects.filter(pk=data["enrollments"][0].pk).update(progress_pct=50)
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("assess_data", "--json", stdout=out)
    assert caught.value.returncode == 1
    payload = json.loads(out.getvalue())
    assert payload["critical_failed"] == 1
    assert any(c["key"] == "completed_progress_100" and not c["passed"] for c in payload["checks"])


# --- the page -----------------------------------------------------------------------------------

URL = "/dashboard/data-quality/"


def test_page_redirects_anonymous_users_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_page_is_forbidden_to_learners_and_teachers(client):
    for person in (LearnerFactory(), TeacherFactory()):
        assert signed_in(client, person.user).get(URL).status_code == 403


def test_page_shows_checks_and_score_to_staff(client):
    data = build_marketplace()
    Enrollment.objects.filter(pk=data["enrollments"][0].pk).update(progress_pct=50)
    response = signed_in(client, StaffFactory()).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Completed enrollments with progress below 100" in page
    assert "Critical failures" in page and "Ratings by category" in page
