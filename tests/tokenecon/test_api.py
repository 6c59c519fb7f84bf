import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.helpers import api_client_for
from tokenecon.services.accounts import top_up_wallet
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.django_db


def test_courses_filter_by_category_teacher_and_price_range(learner):
    teacher = TeacherFactory(external_id="T00077")
    CourseFactory(code="C1", category="music", price_tokens=20, teacher=teacher)
    CourseFactory(code="C2", category="music", price_tokens=80)
    CourseFactory(code="C3", category="design", price_tokens=50)
    client = api_client_for(learner.user)

    def codes(query: str) -> list[str]:
        response = client.get(f"/api/v1/courses/?{query}")
        assert response.status_code == 200
        return [row["code"] for row in response.json()["results"]]

    assert codes("category=music") == ["C1", "C2"]
    assert codes("teacher=T00077") == ["C1"]
    assert codes("min_price=30&max_price=80") == ["C2", "C3"]
    assert codes("category=music&max_price=50") == ["C1"]


def test_courses_are_paginated(learner):
    CourseFactory.create_batch(55)
    body = api_client_for(learner.user).get("/api/v1/courses/").json()
    assert body["count"] == 55
    assert len(body["results"]) == 50
    assert body["next"]


def test_bad_filter_value_is_a_400_with_the_field(learner):
    response = api_client_for(learner.user).get("/api/v1/courses/?min_price=cheap")
    assert response.status_code == 400
    assert "min_price" in response.json()


def test_wallet_shows_only_the_callers_accounts_and_transfers():
    alice, bob = LearnerFactory(), LearnerFactory()
    course = CourseFactory(price_tokens=40)
    top_up_wallet(learner=alice, amount_tokens=100, idempotency_key="a")
    top_up_wallet(learner=bob, amount_tokens=7, idempotency_key="b")
    purchase_course(learner=alice, course=course, idempotency_key="a-buy")

    wallet = api_client_for(alice.user).get("/api/v1/wallet/").json()
    assert wallet == [
        {"id": wallet[0]["id"], "kind": "learner_wallet", "balance_tokens": 60, "balance_money": "6.00"}
    ]
    transfers = api_client_for(alice.user).get("/api/v1/wallet/transfers/").json()["results"]
    assert [(t["kind"], t["amount_tokens"]) for t in transfers] == [("purchase", -40), ("top_up", 100)]
    bob_transfers = api_client_for(bob.user).get("/api/v1/wallet/transfers/").json()["results"]
    assert [(t["kind"], t["amount_tokens"]) for t in bob_transfers] == [("top_up", 7)]
    only_purchases = (
        api_client_for(alice.user).get("/api/v1/wallet/transfers/?kind=purchase").json()["results"]
    )
    assert len(only_purchases) == 1


def test_teacher_wallet_is_the_earnings_account():
    """A teacher's wallet is where their tokens are: available, held for payout and pending
    (a sale's share stays pending for the refund window)."""
    course = CourseFactory(price_tokens=50)
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=50, idempotency_key="t")
    purchase_course(learner=learner, course=course, idempotency_key="p")
    wallet = api_client_for(course.teacher.user).get("/api/v1/wallet/").json()
    assert [(a["kind"], a["balance_tokens"]) for a in wallet] == [
        ("teacher_earnings", 0),
        ("teacher_payout_hold", 0),
        ("teacher_pending", 40),
    ]


def test_token_authentication_works(learner):
    token = Token.objects.create(user=learner.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/wallet/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get("/api/v1/wallet/").status_code == 401


def test_swagger_ui_loads_its_assets_locally(client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
