"""Hostile input to the API (issue 14): non-finite and huge numbers, huge ids, deeply nested JSON.

Each answers 400 naming what was wrong and changes nothing, instead of a 500.
"""

import json
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from rest_framework.exceptions import ValidationError

from pricing.api import views as pricing_views
from pricing.models import PriceRecommendation
from tests.factories import CourseFactory, LearnerFactory, StaffFactory
from tests.helpers import api_client_for
from tests.pricing.test_pricing_api import NEW_COURSE as PLANNED_COURSE
from tokenecon.api.fields import BIGINT_MAX, FiniteFloatField, ensure_finite
from tokenecon.api.parsers import MAX_JSON_DEPTH, json_depth

pytestmark = pytest.mark.django_db

OPTIMIZE = "/api/v1/pricing/optimize/"
PREDICT = "/api/v1/pricing/predict-enrollments/"
BULK_APPLY = "/api/v1/pricing/recommendations/apply/"
PERSONALIZED = "/api/v1/pricing/personalized/"

NEW_COURSE = {**PLANNED_COURSE, "course_age_weeks": 3}

# How a client can spell a number that is not finite: JSON's constants, an overflowing literal,
# and strings DRF's FloatField would read as floats.
NON_FINITE_JSON = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"NaN"', '"inf"', '"-Infinity"']


def post_raw_json(client, url, text):
    return client.post(url, data=text, content_type="application/json")


@pytest.fixture
def staff_client():
    return api_client_for(StaffFactory())


# --- defect 1: non-finite and huge numbers ------------------------------------------------------


@pytest.mark.parametrize("spelling", NON_FINITE_JSON)
@pytest.mark.parametrize("field", ["current_enrollments", "current_price"])
def test_optimize_refuses_non_finite_numbers_naming_the_field(staff_client, field, spelling):
    response = post_raw_json(staff_client, OPTIMIZE, f'{{"course_id": "C00001", "{field}": {spelling}}}')
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize("field", ["current_enrollments", "current_price"])
def test_optimize_refuses_a_huge_finite_number_naming_the_field(staff_client, field):
    response = post_raw_json(staff_client, OPTIMIZE, f'{{"course_id": "C00001", "{field}": 1e308}}')
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart"])
def test_optimize_refuses_form_encoded_infinity(staff_client, content_type):
    payload = {"course_id": "C00001", "current_enrollments": "inf"}
    if content_type == "multipart":
        response = staff_client.post(OPTIMIZE, payload)
    else:
        response = staff_client.post(OPTIMIZE, data=urlencode(payload), content_type=content_type)
    assert response.status_code == 400
    assert "current_enrollments" in response.json()


@pytest.mark.parametrize("spelling", NON_FINITE_JSON + ["1e308"])
@pytest.mark.parametrize(
    "field", ["duration_hours", "teacher_quality", "teacher_years", "usual_price", "course_age_weeks"]
)
def test_predict_refuses_non_finite_course_features_naming_the_field(staff_client, field, spelling):
    course = json.dumps({key: value for key, value in NEW_COURSE.items() if key != field})
    body = f'{{"course": {course[:-1]}, "{field}": {spelling}}}, "prices": [50]}}'
    response = post_raw_json(staff_client, PREDICT, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["course"], response.json()


@pytest.mark.parametrize("spelling", NON_FINITE_JSON)
def test_predict_refuses_a_non_finite_price_naming_its_index(staff_client, spelling):
    response = post_raw_json(staff_client, PREDICT, f'{{"course_id": "C00001", "prices": [50, {spelling}]}}')
    assert response.status_code == 400
    assert "1" in response.json()["prices"], response.json()


def test_every_float_input_states_its_range_in_the_schema(staff_client):
    schemas = staff_client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    optimize = schemas["OptimizeInput"]["properties"]
    assert optimize["current_price"]["minimum"] == 1
    assert optimize["current_price"]["maximum"] == 100_000
    assert optimize["current_enrollments"]["minimum"] == 0.01
    assert optimize["current_enrollments"]["maximum"] == 1_000_000
    features = schemas["NewCourse"]["properties"]
    for name in ("duration_hours", "teacher_quality", "teacher_years", "usual_price", "course_age_weeks"):
        assert {"minimum", "maximum"} <= set(features[name]), name


def test_finite_float_field_requires_a_range():
    with pytest.raises(TypeError):
        FiniteFloatField()


def test_an_answer_that_would_not_be_finite_is_a_400_naming_the_inputs(staff_client, monkeypatch):
    course = CourseFactory()
    interval = {"low": 1.0, "high": 2.0}
    answer = SimpleNamespace(
        course_code=course.code,
        objective="revenue",
        current_price=100.0,
        expected_enrollments_current=1e6,
        recommended_price=100.0,
        model_optimal_price=100.0,
        price_change_pct=0.0,
        expected_enrollments_recommended=1e6,
        enrollment_change_pct=0.0,
        expected_revenue_current=float("inf"),
        expected_revenue_recommended=float("inf"),
        revenue_increase=float("nan"),
        revenue_change_pct=float("nan"),
        elasticity_current=-1.0,
        demand_type="Elastic",
        confidence="low",
        reason="",
        enrollments_current_interval=interval,
        enrollments_recommended_interval=interval,
        revenue_change_pct_interval=interval,
        bounds=interval,
        model_version=1,
        model_algorithm="poly2",
    )
    monkeypatch.setattr(pricing_views, "optimise_course", lambda **kwargs: answer)
    response = staff_client.post(
        OPTIMIZE, {"course_id": course.code, "current_enrollments": 1e6}, format="json"
    )
    assert response.status_code == 400, response.content
    (message,) = response.json()["current_enrollments"]
    assert "current_revenue" in message


def test_ensure_finite_names_every_non_finite_path():
    with pytest.raises(ValidationError) as caught:
        ensure_finite({"optimal_revenue": float("inf"), "x": [1.0, float("nan")]}, blame=["current_price"])
    (message,) = caught.value.detail["current_price"]
    assert "optimal_revenue" in message
    assert "x.1" in message


# --- defect 2: huge ids -------------------------------------------------------------------------


@pytest.mark.parametrize("huge", [10**30, BIGINT_MAX + 1])
def test_bulk_apply_refuses_an_id_beyond_the_database_range_naming_field_and_index(staff_client, huge):
    response = staff_client.post(BULK_APPLY, {"ids": [1, huge]}, format="json")
    assert response.status_code == 400, response.content
    assert "1" in response.json()["ids"]
    assert not PriceRecommendation.objects.filter(status="applied").exists()


def test_bulk_apply_takes_the_largest_bigint(staff_client):
    response = staff_client.post(BULK_APPLY, {"ids": [BIGINT_MAX]}, format="json")
    assert response.status_code == 200
    assert response.json()["refused"] == 1


def test_personalized_price_refuses_a_huge_learner_id(staff_client):
    response = staff_client.post(PERSONALIZED, {"learner_id": 10**30, "course_id": "C00001"}, format="json")
    assert response.status_code == 400
    assert "learner_id" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/pricing/recommendations/100000000000000000000000000000/apply/",
        "/api/v1/pricing/recommendations/100000000000000000000000000000/dismiss/",
    ],
)
def test_a_huge_id_in_the_path_is_a_404(staff_client, url):
    assert staff_client.post(url).status_code == 404


def test_a_huge_learner_id_in_the_path_is_a_404(staff_client):
    assert staff_client.get(f"/api/v1/learners/{10**30}/propensity/").status_code == 404


# --- defect 3: deeply nested JSON ----------------------------------------------------------------


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "body",
    [nested_list(1200), nested_object(1200), nested_list(MAX_JSON_DEPTH + 1)],
    ids=["list-1200", "object-1200", "list-limit+1"],
)
@pytest.mark.parametrize("url", [OPTIMIZE, PREDICT, BULK_APPLY, PERSONALIZED])
def test_deeply_nested_json_is_a_400_at_every_json_endpoint(staff_client, url, body):
    LearnerFactory()
    response = post_raw_json(staff_client, url, body)
    assert response.status_code == 400
    assert response.json() == {"detail": f"JSON nested deeper than {MAX_JSON_DEPTH} levels."}


def test_json_as_deep_as_the_limit_is_parsed(staff_client):
    response = post_raw_json(staff_client, BULK_APPLY, '{"ids": ' + nested_list(MAX_JSON_DEPTH - 1) + "}")
    assert response.status_code == 400
    assert "ids" in response.json()


def test_an_oversized_json_body_is_a_400(staff_client):
    body = json.dumps({"ids": [1] * 400_000})
    response = post_raw_json(staff_client, BULK_APPLY, body)
    assert response.status_code == 400
    assert "larger than" in response.json()["detail"]


def test_json_depth_counts_levels_without_recursing():
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4
    assert json_depth(json.loads(nested_list(500))) == 500
