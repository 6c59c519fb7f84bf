"""The payouts and earnings API: teachers request and read their own, staff decide, learners 403."""

import pytest

from tests.factories import LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import api_client_for
from tests.tokenecon.payout_world import teacher_with_available
from tokenecon.models import PayoutRequest, PayoutStatus, Transfer

pytestmark = pytest.mark.django_db

URL = "/api/v1/payouts/"


def post(client, body, key="k1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, body, format="json", **headers)


def test_a_teacher_requests_a_payout_and_a_retry_returns_it():
    teacher = teacher_with_available()
    client = api_client_for(teacher.user)
    first = post(client, {"amount_tokens": 600})
    assert first.status_code == 201, first.json()
    data = first.json()
    assert (data["amount_tokens"], data["money_amount"], data["status"]) == (600, "60.00", "requested")
    again = post(client, {"amount_tokens": 600})
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    conflict = post(client, {"amount_tokens": 700})
    assert conflict.status_code == 409 and "not 700" in conflict.json()["detail"]
    assert PayoutRequest.objects.count() == 1
    listing = client.get(URL).json()
    assert [row["id"] for row in listing["results"]] == [data["id"]]


def test_the_key_may_come_in_the_body():
    teacher = teacher_with_available()
    response = post(api_client_for(teacher.user), {"amount_tokens": 500, "idempotency_key": "body"}, key=None)
    assert response.status_code == 201
    assert PayoutRequest.objects.get().idempotency_key == f"{teacher.pk}:body"


@pytest.mark.parametrize(
    ("body", "key", "field_or_detail"),
    [
        ({"amount_tokens": 500}, None, "idempotency_key"),
        ({}, "k", "amount_tokens"),
        ({"amount_tokens": "abc"}, "k", "amount_tokens"),
        ({"amount_tokens": 0}, "k", "amount_tokens"),
        ({"amount_tokens": 1.5}, "k", "amount_tokens"),
        ({"amount_tokens": 499}, "k", "The minimum payout is 500 tokens"),
        ({"amount_tokens": 801}, "k", "only 800 are available"),
        ({"amount_tokens": 500}, "x" * 101, "idempotency_key"),
    ],
)
def test_bad_requests_are_400_and_write_nothing(body, key, field_or_detail):
    teacher = teacher_with_available()
    before = Transfer.objects.count()
    response = post(api_client_for(teacher.user), body, key=key)
    assert response.status_code == 400, response.json()
    assert field_or_detail in response.json() or field_or_detail in response.json().get("detail", "")
    assert not PayoutRequest.objects.exists() and Transfer.objects.count() == before


def test_staff_see_all_requests_filter_them_and_cannot_create_one():
    one, two = teacher_with_available(), teacher_with_available()
    for teacher in (one, two):
        post(api_client_for(teacher.user), {"amount_tokens": 500})
    staff = api_client_for(StaffFactory())
    assert staff.get(URL).json()["count"] == 2
    assert staff.get(URL, {"teacher": one.pk}).json()["count"] == 1
    assert staff.get(URL, {"status": "paid"}).json()["count"] == 0
    assert staff.get(URL, {"status": "nope"}).status_code == 400
    assert staff.get(URL, {"teacher": "x"}).status_code == 400
    assert post(staff, {"amount_tokens": 500}).status_code == 403
    # Another teacher sees only their own.
    assert api_client_for(two.user).get(URL).json()["count"] == 1


def test_staff_approve_and_reject(settings):
    settings.PAYOUT_PROVIDER = "test"
    teacher = teacher_with_available(sales=2)
    client = api_client_for(teacher.user)
    a = post(client, {"amount_tokens": 500}, key="a").json()["id"]
    b = post(client, {"amount_tokens": 500}, key="b").json()["id"]
    staff = api_client_for(StaffFactory())
    paid = staff.post(f"{URL}{a}/approve/", {"reference": "BANK-9"}, format="json")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert paid.json()["provider_reference"] == "BANK-9"
    assert staff.post(f"{URL}{a}/approve/", {}, format="json").status_code == 200  # replay
    assert staff.post(f"{URL}{a}/reject/", {"reason": "x"}, format="json").status_code == 400
    assert staff.post(f"{URL}{b}/reject/", {}, format="json").status_code == 400  # no reason
    rejected = staff.post(f"{URL}{b}/reject/", {"reason": "Bank details missing"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["reason"] == "Bank details missing"
    assert staff.post(f"{URL}999999/approve/", {}, format="json").status_code == 404
    # Teachers cannot decide, not even their own.
    assert client.post(f"{URL}{b}/approve/", {}, format="json").status_code == 403
    assert PayoutRequest.objects.get(pk=b).status == PayoutStatus.REJECTED


def test_earnings_summary_for_the_teacher_and_for_staff():
    teacher = teacher_with_available()
    post(api_client_for(teacher.user), {"amount_tokens": 500})
    own = api_client_for(teacher.user).get("/api/v1/earnings/")
    assert own.status_code == 200
    data = own.json()
    assert (data["available_tokens"], data["held_tokens"], data["pending_tokens"]) == (300, 500, 0)
    assert data["identity_holds"] is True and data["requested_payouts"] == 1
    assert data["minimum_payout_tokens"] == 500 and data["currency"] == "USD"
    staff = api_client_for(StaffFactory())
    assert staff.get("/api/v1/earnings/", {"teacher": teacher.pk}).json() == data
    assert staff.get("/api/v1/earnings/").status_code == 400
    assert staff.get("/api/v1/earnings/", {"teacher": 999999}).status_code == 404
    other = api_client_for(TeacherFactory().user)
    assert other.get("/api/v1/earnings/", {"teacher": teacher.pk}).status_code == 404


def test_learners_get_403():
    learner = api_client_for(LearnerFactory().user)
    assert learner.get(URL).status_code == 403
    assert post(learner, {"amount_tokens": 500}).status_code == 403
    assert learner.get("/api/v1/earnings/").status_code == 403
    assert learner.post(f"{URL}1/approve/", {}, format="json").status_code == 403


def test_the_schema_documents_the_payout_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/payouts/",
        "/api/v1/payouts/{id}/approve/",
        "/api/v1/payouts/{id}/reject/",
        "/api/v1/earnings/",
    ):
        assert path in schema["paths"], path
    create = schema["paths"]["/api/v1/payouts/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert {"201", "400", "409"} <= set(create["responses"])
