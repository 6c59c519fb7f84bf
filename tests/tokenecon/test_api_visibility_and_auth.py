"""The API shows non-staff only published courses (issue 14, defect 4), and an anonymous call
is a 401 asking for a token (defect 11)."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from learners.selectors import courses_visible_to_learner
from tests.factories import CourseFactory, EnrollmentFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import api_client_for
from tokenecon.models import Course
from tokenecon.selectors import catalog_courses_visible_to

pytestmark = pytest.mark.django_db

DRAFT, PUBLISHED, RETIRED = Course.Status.DRAFT, Course.Status.PUBLISHED, Course.Status.RETIRED


@pytest.fixture
def catalog():
    teacher = TeacherFactory()
    return {
        "teacher": teacher,
        "published": CourseFactory(teacher=teacher, status=PUBLISHED),
        "draft": CourseFactory(teacher=teacher, status=DRAFT),
        "retired": CourseFactory(teacher=teacher, status=RETIRED),
    }


def codes(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {course["code"] for course in response.json()["results"]}


def test_a_learner_gets_404_for_a_draft_course(catalog):
    client = api_client_for(LearnerFactory().user)
    response = client.get(f"/api/v1/courses/{catalog['draft'].code}/")
    assert response.status_code == 404
    assert client.get(f"/api/v1/courses/{catalog['published'].code}/").status_code == 200


@pytest.mark.parametrize("status", [DRAFT, RETIRED])
def test_a_learner_cannot_list_unpublished_courses(catalog, status):
    client = api_client_for(LearnerFactory().user)
    assert codes(client.get("/api/v1/courses/", {"status": status})) == set()
    assert codes(client.get("/api/v1/courses/")) == {catalog["published"].code}


def test_a_learner_keeps_a_retired_course_they_took_as_the_portal_does(catalog):
    learner = LearnerFactory()
    EnrollmentFactory(learner=learner, course=catalog["retired"])
    client = api_client_for(learner.user)
    assert codes(client.get("/api/v1/courses/")) == {catalog["published"].code, catalog["retired"].code}
    assert client.get(f"/api/v1/courses/{catalog['retired'].code}/").status_code == 200
    assert set(catalog_courses_visible_to(learner.user)) == set(courses_visible_to_learner(learner=learner))


def test_a_teacher_sees_their_own_courses_in_any_status_and_only_published_others(catalog):
    other = CourseFactory(status=DRAFT)
    client = api_client_for(catalog["teacher"].user)
    assert codes(client.get("/api/v1/courses/")) == {
        catalog[k].code for k in ("published", "draft", "retired")
    }
    assert client.get(f"/api/v1/courses/{other.code}/").status_code == 404


def test_staff_see_every_course(catalog):
    client = api_client_for(StaffFactory())
    assert codes(client.get("/api/v1/courses/", {"status": DRAFT})) == {catalog["draft"].code}


def test_a_learner_gets_no_personal_price_for_a_draft_course(catalog):
    learner = LearnerFactory()
    response = api_client_for(learner.user).post(
        "/api/v1/pricing/personalized/",
        {"learner_id": learner.pk, "course_id": catalog["draft"].code},
        format="json",
    )
    assert response.status_code == 404
    assert catalog["draft"].code in response.json()["detail"]


# --- 401 for anonymous calls -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/courses/"),
        ("get", "/api/v1/wallet/"),
        ("post", "/api/v1/pricing/optimize/"),
        ("get", "/api/v1/models/"),
        ("get", "/api/v1/learners/1/propensity/"),
    ],
)
def test_an_anonymous_api_call_is_401_asking_for_a_token(method, path):
    response = getattr(api_client_for(None), method)(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_signs_in_and_a_session_still_needs_csrf_for_writes(catalog):
    user = StaffFactory()
    token = Token.objects.create(user=user)
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert by_token.get("/api/v1/courses/").status_code == 200
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(user)
    assert session.get("/api/v1/courses/").status_code == 200
    response = session.post("/api/v1/pricing/recommendations/apply/", {"ids": [1]}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
