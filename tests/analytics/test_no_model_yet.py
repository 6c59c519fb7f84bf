"""Before any training: every page answers with a clear "no model yet" state and no 5xx, and the
model-backed API answers as documented (503 with no demand model, 409 for a learner not scored)."""

import pytest
from django.urls import reverse

from analytics.models import ModelVersion
from analytics.services.registry import clear_model_cache
from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import api_client_for, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def untrained():
    clear_model_cache()
    assert not ModelVersion.objects.exists()
    teacher = TeacherFactory()
    return {"teacher": teacher, "course": CourseFactory(teacher=teacher), "learner": LearnerFactory()}


def test_pages_before_any_training_answer_without_a_server_error(client, untrained):
    course = untrained["course"]
    signed_in(client, untrained["teacher"].user)
    for url in (reverse("pricing:teacher_home"), reverse("pricing:course_detail", args=[course.code])):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(reverse("pricing:course_detail", args=[course.code])).content.decode()
    assert "No demand model is in production yet" in page

    signed_in(client, untrained["learner"].user)
    for name, args in [
        ("learners:learner_home", []),
        ("learners:catalog", []),
        ("learners:course_detail", [course.code]),
        ("learners:enroll", [course.code]),
        ("learners:offers", []),
        ("learners:recommendations", []),
        ("learners:my_courses", []),
        ("learners:wallet", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 200, name

    signed_in(client, StaffFactory())
    for name in ("analytics:dashboard", "analytics:registry", "pricing:staff_courses"):
        assert client.get(reverse(name)).status_code == 200, name


def test_model_backed_api_before_any_training_answers_as_documented(untrained):
    course, learner = untrained["course"], untrained["learner"]
    teacher_api = api_client_for(untrained["teacher"].user)
    optimize = teacher_api.post("/api/v1/pricing/optimize/", {"course_id": course.code}, format="json")
    predict = teacher_api.post(
        "/api/v1/pricing/predict-enrollments/", {"course_id": course.code, "prices": [50, 100]}, format="json"
    )
    for response in (optimize, predict):
        assert response.status_code == 503, response.content
        assert "No demand model is in production yet" in response.json()["detail"]
    propensity = api_client_for(StaffFactory()).get(f"/api/v1/learners/{learner.pk}/propensity/")
    assert propensity.status_code == 409, propensity.content
    assert propensity.json()["detail"]
