"""The pricing API: who may call what, input validation, and the answers' shape."""

import pytest

from pricing.models import PriceRecommendation
from pricing.services import model_source
from pricing.services.model_source import NoDemandModel
from tests.factories import LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import api_client_for
from tests.pricing.db_world import trained_world as priced_world
from tokenecon.models import Course, PriceChange, Teacher

pytestmark = pytest.mark.django_db

OPTIMIZE = "/api/v1/pricing/optimize/"
PREDICT = "/api/v1/pricing/predict-enrollments/"
RECOMMENDATIONS = "/api/v1/pricing/recommendations/"
BULK_APPLY = "/api/v1/pricing/recommendations/apply/"


@pytest.fixture(scope="module")
def trained_world(django_db_setup, django_db_blocker):
    """A small world with a production demand model and stored advice, shared by this module."""
    with django_db_blocker.unblock(), priced_world(seed=2) as run:
        yield run


@pytest.fixture
def teachers(trained_world):
    """Two teachers of the world and one course each."""
    first, second = Teacher.objects.filter(courses__isnull=False).distinct().order_by("pk")[:2]
    return {
        "own": first,
        "own_course": first.courses.order_by("code").first(),
        "other_course": second.courses.order_by("code").first(),
    }


def _applicable_for(teacher) -> PriceRecommendation:
    for recommendation in PriceRecommendation.objects.filter(status="pending").select_related("course"):
        if recommendation.changes_price and recommendation.course.teacher_id == teacher.pk:
            return recommendation
    pytest.fail(f"No price-moving advice for {teacher}'s courses in the test world.")


def _applicable_teacher() -> Teacher:
    for recommendation in PriceRecommendation.objects.filter(status="pending").select_related("course"):
        if recommendation.changes_price:
            return recommendation.course.teacher
    pytest.fail("No price-moving advice in the test world.")


# --- optimize ------------------------------------------------------------------------------


def test_optimize_returns_the_price_change_fields_with_intervals_and_model_version(teachers):
    response = api_client_for(teachers["own"].user).post(
        OPTIMIZE, {"course_id": teachers["own_course"].code}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    for field in (
        "optimal_price",
        "price_change_pct",
        "predicted_enrollments",
        "enrollment_change_pct",
        "current_revenue",
        "optimal_revenue",
        "revenue_increase",
        "revenue_increase_pct",
        "elasticity_coefficient",
        "demand_type",
        "recommendation",
        "intervals",
        "model_version",
    ):
        assert field in body, field
    assert body["demand_type"] in {"Elastic", "Inelastic"}
    assert body["current_price"] == teachers["own_course"].price_tokens
    low, high = body["intervals"]["predicted_enrollments"].values()
    assert low <= body["predicted_enrollments"] <= high
    assert body["revenue_increase"] == pytest.approx(body["optimal_revenue"] - body["current_revenue"])


def test_optimize_with_current_price_and_enrollments_starts_from_them(teachers):
    response = api_client_for(StaffFactory()).post(
        OPTIMIZE,
        {
            "course_id": teachers["own_course"].code,
            "current_price": 150,
            "current_enrollments": 12.5,
            "objective": "enrollments",
        },
        format="json",
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["current_price"] == 150
    assert body["current_enrollments"] == pytest.approx(12.5)
    assert body["objective"] == "enrollments"
    # Maximising enrollments never raises the price.
    assert body["optimal_price"] <= 150


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "course_id"),
        ({"course_id": "C00001", "objective": "profit"}, "objective"),
        ({"course_id": "C00001", "current_price": -5}, "current_price"),
        ({"course_id": "C00001", "current_price": "cheap"}, "current_price"),
        ({"course_id": "C00001", "current_enrollments": 0}, "current_enrollments"),
    ],
)
def test_optimize_rejects_bad_input_naming_the_field(teachers, payload, field):
    response = api_client_for(StaffFactory()).post(OPTIMIZE, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_optimize_unknown_course_is_404(trained_world):
    response = api_client_for(StaffFactory()).post(OPTIMIZE, {"course_id": "C99999"}, format="json")
    assert response.status_code == 404
    assert "C99999" in response.json()["detail"]


def test_optimize_without_a_production_model_is_503(teachers, monkeypatch):
    def no_model():
        raise NoDemandModel("No production version of demand.")

    monkeypatch.setattr(model_source, "_provider", no_model)
    response = api_client_for(StaffFactory()).post(
        OPTIMIZE, {"course_id": teachers["own_course"].code}, format="json"
    )
    assert response.status_code == 503
    assert response.json() == {"detail": "No production version of demand."}


# --- predict-enrollments -----------------------------------------------------------------------


def test_predict_returns_enrollments_and_revenue_per_price(teachers):
    prices = [40, 80, 120, 160]
    response = api_client_for(teachers["own"].user).post(
        PREDICT, {"course_id": teachers["own_course"].code, "prices": prices}, format="json"
    )
    assert response.status_code == 200, response.content
    rows = response.json()["predictions"]
    assert [r["price"] for r in rows] == prices
    for row in rows:
        assert row["predicted_revenue"] == pytest.approx(row["price"] * row["predicted_enrollments"])
        assert row["teacher_earnings"] < row["predicted_revenue"]
    # Demand falls with price.
    enrollments = [r["predicted_enrollments"] for r in rows]
    assert enrollments == sorted(enrollments, reverse=True)


@pytest.mark.parametrize(
    "prices, expected",
    [
        ([], "prices"),
        ([100] * 201, "prices"),
        ([100, -5, 120], {"prices": {"1": None}}),
        ([100, 120, 0], {"prices": {"2": None}}),
        (["a lot"], {"prices": {"0": None}}),
        ("100", "prices"),
    ],
)
def test_predict_rejects_bad_price_lists_naming_field_and_index(teachers, prices, expected):
    response = api_client_for(StaffFactory()).post(
        PREDICT, {"course_id": teachers["own_course"].code, "prices": prices}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    if isinstance(expected, str):
        assert expected in body
    else:
        (index,) = expected["prices"]
        assert index in body["prices"], body


def test_predict_accepts_two_hundred_prices(teachers):
    response = api_client_for(StaffFactory()).post(
        PREDICT, {"course_id": teachers["own_course"].code, "prices": list(range(10, 210))}, format="json"
    )
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 200


def test_predict_unknown_course_is_404(trained_world):
    response = api_client_for(StaffFactory()).post(
        PREDICT, {"course_id": "NOPE", "prices": [10]}, format="json"
    )
    assert response.status_code == 404


def test_predict_missing_course_id_is_400(trained_world):
    response = api_client_for(StaffFactory()).post(PREDICT, {"prices": [10]}, format="json")
    assert response.status_code == 400
    assert "course_id" in response.json()


NEW_COURSE = {
    "category": "programming",
    "difficulty": "beginner",
    "duration_hours": 12,
    "certificate_offered": True,
    "teacher_quality": 70,
    "teacher_years": 5,
    "usual_price": 100,
}


def test_predict_for_a_course_described_by_its_features(teachers):
    prices = [60, 100, 140]
    response = api_client_for(teachers["own"].user).post(
        PREDICT, {"course": NEW_COURSE, "prices": prices}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["course_id"] is None
    assert body["current_price"] == 100
    enrollments = [r["predicted_enrollments"] for r in body["predictions"]]
    assert all(e > 0 for e in enrollments)
    assert enrollments == sorted(enrollments, reverse=True)
    assert all(r["elasticity"] <= 0 for r in body["predictions"])


def test_predict_for_features_defaults_to_the_category_average_price(teachers):
    features = {k: v for k, v in NEW_COURSE.items() if k != "usual_price"}
    response = api_client_for(StaffFactory()).post(
        PREDICT, {"course": features, "prices": [50]}, format="json"
    )
    assert response.status_code == 200, response.content
    programming = Course.objects.filter(category="programming")
    assert programming.exists()
    low = min(c.price_tokens for c in programming)
    high = max(c.price_tokens for c in programming)
    assert low <= response.json()["current_price"] <= high


def test_predict_takes_a_course_id_or_features_not_both(teachers):
    both = {"course_id": teachers["own_course"].code, "course": NEW_COURSE, "prices": [50]}
    response = api_client_for(StaffFactory()).post(PREDICT, both, format="json")
    assert response.status_code == 400
    assert "not both" in response.json()["course_id"][0]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"category": "astrology"}, "category"),
        ({"duration_hours": -3}, "duration_hours"),
        ({"teacher_quality": 140}, "teacher_quality"),
        ({"certificate_offered": "perhaps"}, "certificate_offered"),
        ({"usual_price": 0}, "usual_price"),
    ],
)
def test_predict_rejects_bad_features_naming_the_field(trained_world, change, field):
    response = api_client_for(StaffFactory()).post(
        PREDICT, {"course": {**NEW_COURSE, **change}, "prices": [50]}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["course"]


def test_learners_cannot_predict_for_features(trained_world):
    response = api_client_for(LearnerFactory().user).post(
        PREDICT, {"course": NEW_COURSE, "prices": [50]}, format="json"
    )
    assert response.status_code == 403


# --- who may call what -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [OPTIMIZE, PREDICT])
def test_course_endpoints_by_role(teachers, url):
    payload = {"course_id": teachers["own_course"].code, "prices": [50]}
    other = {"course_id": teachers["other_course"].code, "prices": [50]}
    assert api_client_for(None).post(url, payload, format="json").status_code == 401
    assert api_client_for(LearnerFactory().user).post(url, payload, format="json").status_code == 403
    assert api_client_for(TeacherFactory().user).post(url, payload, format="json").status_code == 404
    teacher = api_client_for(teachers["own"].user)
    assert teacher.post(url, payload, format="json").status_code == 200
    assert teacher.post(url, other, format="json").status_code == 404
    assert api_client_for(StaffFactory()).post(url, other, format="json").status_code == 200


def test_recommendation_list_by_role(teachers):
    assert api_client_for(None).get(RECOMMENDATIONS).status_code == 401
    assert api_client_for(LearnerFactory().user).get(RECOMMENDATIONS).status_code == 403
    own = api_client_for(teachers["own"].user).get(RECOMMENDATIONS).json()
    own_codes = set(teachers["own"].courses.values_list("code", flat=True))
    assert own["count"] == len(own_codes)
    assert {r["course_id"] for r in own["results"]} == own_codes
    everything = api_client_for(StaffFactory()).get(RECOMMENDATIONS).json()
    assert everything["count"] == Course.objects.count()
    assert len(everything["results"]) <= 50


def test_recommendation_list_filters(teachers):
    client = api_client_for(StaffFactory())
    code = teachers["own_course"].code
    body = client.get(RECOMMENDATIONS, {"course": code}).json()
    assert [r["course_id"] for r in body["results"]] == [code]
    category = teachers["own_course"].category
    body = client.get(RECOMMENDATIONS, {"category": category, "status": "pending"}).json()
    assert body["count"] == Course.objects.filter(category=category).count()
    assert all(r["category"] == category for r in body["results"])
    body = client.get(RECOMMENDATIONS, {"confidence": "low"}).json()
    assert body["count"] == PriceRecommendation.objects.filter(confidence="low").count()
    assert client.get(RECOMMENDATIONS, {"status": "nonsense"}).status_code == 400


def test_teacher_applies_own_recommendation_once(trained_world):
    teacher = _applicable_teacher()
    recommendation = _applicable_for(teacher)
    client = api_client_for(teacher.user)
    response = client.post(f"{RECOMMENDATIONS}{recommendation.pk}/apply/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["recommendation"]["status"] == "applied"
    assert body["price_change"]["source"] == "recommendation"
    assert body["price_change"]["approved_by"] == teacher.user.username
    assert (
        Course.objects.get(pk=recommendation.course_id).price_tokens
        == recommendation.recommended_price_tokens
    )
    again = client.post(f"{RECOMMENDATIONS}{recommendation.pk}/apply/")
    assert again.status_code == 409
    assert "applied" in again.json()["detail"]


def test_apply_and_dismiss_by_role(trained_world):
    teacher = _applicable_teacher()
    recommendation = _applicable_for(teacher)
    for action in ("apply", "dismiss"):
        url = f"{RECOMMENDATIONS}{recommendation.pk}/{action}/"
        assert api_client_for(None).post(url).status_code == 401
        assert api_client_for(LearnerFactory().user).post(url).status_code == 403
        assert api_client_for(TeacherFactory().user).post(url).status_code == 404
        assert api_client_for(teacher.user).get(url).status_code == 405
    assert PriceChange.objects.filter(source="recommendation").count() == 0
    response = api_client_for(StaffFactory()).post(f"{RECOMMENDATIONS}{recommendation.pk}/dismiss/")
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    assert (
        api_client_for(teacher.user).post(f"{RECOMMENDATIONS}{recommendation.pk}/apply/").status_code == 409
    )


def test_unknown_recommendation_is_404(trained_world):
    assert api_client_for(StaffFactory()).post(f"{RECOMMENDATIONS}999999/apply/").status_code == 404


def test_staff_bulk_apply_applies_each_or_says_why_not(trained_world):
    moving = [r for r in PriceRecommendation.objects.filter(status="pending") if r.changes_price][:3]
    assert moving, "No price-moving advice in the test world."
    ids = [r.pk for r in moving] + [999999]
    response = api_client_for(StaffFactory()).post(BULK_APPLY, {"ids": ids}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["applied"] == len(moving) and body["refused"] == 1
    assert PriceChange.objects.filter(source="recommendation").count() == len(moving)
    for who in (TeacherFactory().user, LearnerFactory().user):
        assert api_client_for(who).post(BULK_APPLY, {"ids": ids}, format="json").status_code == 403
    assert api_client_for(StaffFactory()).post(BULK_APPLY, {"ids": []}, format="json").status_code == 400


def test_schema_documents_the_pricing_endpoints(trained_world):
    client = api_client_for(StaffFactory())
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in (OPTIMIZE, PREDICT, RECOMMENDATIONS, f"{RECOMMENDATIONS}{{id}}/apply/"):
        assert path in schema["paths"], path
    assert "examples" in str(schema["paths"][OPTIMIZE]["post"])


def test_optimize_and_the_model_elasticities_name_demand_types_alike(teachers):
    """Both endpoints use ``pricing.ml.elasticity.demand_type``: "Elastic" or "Inelastic"."""
    client = api_client_for(StaffFactory())
    optimised = client.post(OPTIMIZE, {"course_id": teachers["own_course"].code}, format="json").json()
    categories = client.get("/api/v1/models/demand/elasticities/").json()["categories"]
    assert categories
    for row in categories:
        assert row["demand_type"] == ("Elastic" if row["elasticity"] < -1 else "Inelastic")
    assert optimised["demand_type"] == (
        "Elastic" if optimised["elasticity_coefficient"] < -1 else "Inelastic"
    )
