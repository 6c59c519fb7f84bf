"""The learner API: each role against each endpoint, validation, and the answers' shape."""

from decimal import Decimal

import pytest

from learners.models import LearnerScore
from tests.factories import (
    CourseFactory,
    LearnerFactory,
    LearnerScoreFactory,
    OfferFactory,
    StaffFactory,
    TeacherFactory,
)
from tests.helpers import api_client_for as client_for
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    me, other = LearnerFactory(), LearnerFactory()
    courses = [CourseFactory(category="programming" if i % 2 else "design") for i in range(6)]
    top_up_wallet(learner=me, amount_tokens=1000, idempotency_key="api-top-up")
    purchase_course(learner=me, course=courses[0], idempotency_key="api-buy")
    for learner, p in ((me, 0.8), (other, 0.2)):
        LearnerScoreFactory(
            learner=learner,
            enroll_prob=p,
            churn_prob=1 - p,
            complete_prob=0.5,
            upsell_prob=0.3,
            price_sensitivity=0.6,
            segment="Hot" if p > 0.7 else "Dormant",
            churn_risk="low" if p > 0.7 else "high",
            model_versions={"propensity_enroll": 1},
        )
    OfferFactory(learner=me, course=courses[1], discount_pct=Decimal("10"))
    OfferFactory(learner=other, course=courses[1], discount_pct=Decimal("20"))
    return {
        "me": me,
        "other": other,
        "courses": courses,
        "staff": StaffFactory(),
        "teacher": TeacherFactory(),
    }


def urls(learner_id: int) -> list[str]:
    return [f"/api/v1/learners/{learner_id}/{what}/" for what in ("propensity", "recommendations", "offers")]


def test_a_learner_reads_their_own_scores_recommendations_and_offers(world):
    client = client_for(world["me"].user)
    propensity, recommendations, offers = (client.get(u) for u in urls(world["me"].pk))
    assert propensity.status_code == 200
    body = propensity.json()
    assert body["segment"] == "Hot" and body["enroll_prob"] == 0.8
    assert {"discount", "contact", "channel", "intervention"} <= set(body["segment_action"])
    assert body["model_versions"] == {"propensity_enroll": 1}
    assert recommendations.status_code == 200
    codes = [row["course_id"] for row in recommendations.json()]
    assert codes and world["courses"][0].code not in codes  # never a course already taken
    assert all(row["reason"] for row in recommendations.json())
    assert offers.status_code == 200
    assert [o["discount_pct"] for o in offers.json()["results"]] == ["10.00"]


@pytest.mark.parametrize("who", ["other_learner", "missing"])
def test_another_learners_data_is_a_404(world, who):
    client = client_for(world["me"].user)
    target = world["other"].pk if who == "other_learner" else 999_999
    for url in urls(target):
        assert client.get(url).status_code == 404, url


def test_staff_reach_every_learner_and_teachers_and_anonymous_none(world):
    for url in urls(world["other"].pk):
        assert client_for(world["staff"]).get(url).status_code == 200, url
        assert client_for(world["teacher"].user).get(url).status_code == 403, url
        assert client_for(None).get(url).status_code == 401, url


def test_an_unscored_learner_is_a_409_not_a_500(world):
    LearnerScore.objects.filter(learner=world["me"]).delete()
    response = client_for(world["me"].user).get(urls(world["me"].pk)[0])
    assert response.status_code == 409
    assert "not been scored" in response.json()["detail"]


def test_offer_status_filter_and_bad_parameters(world):
    client = client_for(world["me"].user)
    base = f"/api/v1/learners/{world['me'].pk}/"
    assert client.get(base + "offers/?status=expired").json()["results"] == []
    assert client.get(base + "offers/?status=bogus").status_code == 400
    assert client.get(base + "recommendations/?k=0").status_code == 400
    assert client.get(base + "recommendations/?k=abc").status_code == 400
    assert len(client.get(base + "recommendations/?k=2").json()) == 2


PERSONALIZED = "/api/v1/pricing/personalized/"


def test_personalized_price_for_oneself(world):
    course = world["courses"][3]
    response = client_for(world["me"].user).post(
        PERSONALIZED, {"learner_id": world["me"].pk, "course_id": course.code}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["base_price"] == course.price_tokens
    assert body["discount_pct"] in (0, 5, 10, 15, 20, 30)
    assert body["personalized_price"] == round(course.price_tokens * (1 - body["discount_pct"] / 100))
    assert 0 < body["expected_conversion_without_offer"] <= body["expected_conversion_with_offer"] < 1
    assert body["reason"]


def test_personalized_price_of_an_owned_course_has_no_discount(world):
    owned = world["courses"][0]
    body = (
        client_for(world["staff"])
        .post(PERSONALIZED, {"learner_id": world["me"].pk, "course_id": owned.code}, format="json")
        .json()
    )
    assert body["discount_pct"] == 0 and "Already enrolled" in body["reason"]


@pytest.mark.parametrize(
    "payload, status, field",
    [
        ({"learner_id": "abc", "course_id": "C00001"}, 400, "learner_id"),
        ({"course_id": "C00001"}, 400, "learner_id"),
        ({"learner_id": 1}, 400, "course_id"),
        ({"learner_id": -3, "course_id": "C00001"}, 400, "learner_id"),
    ],
)
def test_personalized_price_validation(world, payload, status, field):
    response = client_for(world["staff"]).post(PERSONALIZED, payload, format="json")
    assert response.status_code == status
    assert field in response.json()


def test_personalized_price_permissions(world):
    course = world["courses"][3]
    other = {"learner_id": world["other"].pk, "course_id": course.code}
    assert client_for(world["me"].user).post(PERSONALIZED, other, format="json").status_code == 404
    assert client_for(world["teacher"].user).post(PERSONALIZED, other, format="json").status_code == 403
    unknown = {"learner_id": world["me"].pk, "course_id": "C99999"}
    assert client_for(world["me"].user).post(PERSONALIZED, unknown, format="json").status_code == 404


def test_bad_query_parameters_are_a_400_naming_the_field(world):
    client = client_for(world["me"].user)
    base = f"/api/v1/learners/{world['me'].pk}/"
    for url, field in (
        ("recommendations/?k=51", "k"),
        ("recommendations/?k=abc", "k"),
        ("offers/?status=bogus", "status"),
    ):
        response = client.get(base + url)
        assert response.status_code == 400 and field in response.json(), url
    assert client.get(base + "recommendations/?k=0").json() == {"k": ["A whole number from 1 to 50."]}


def test_suggestions_default_to_ten_and_offers_filter_by_status(world):
    CourseFactory.create_batch(12)
    client = client_for(world["me"].user)
    base = f"/api/v1/learners/{world['me'].pk}/"
    assert len(client.get(base + "recommendations/").json()) == 10
    shown = client.get(base + "offers/?status=shown").json()["results"]
    assert [o["status"] for o in shown] == ["shown"]
