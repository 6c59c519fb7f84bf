"""A learner refunding their own enrollment: the my-courses button (or the reason there is none),
the confirmation page, the POST, and ``POST /api/v1/enrollments/<id>/refund/``."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import api_client_for, signed_in
from tests.ledger_checks import assert_ledger_consistent
from tokenecon.models import Enrollment, EnrollmentStatus, Transfer, TransferKind
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.services.earnings import release_due, teacher_balances
from tokenecon.services.enrollment import purchase_course

pytestmark = pytest.mark.django_db


def bought(*, days_ago: float = 1, progress: int = 0) -> Enrollment:
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=300, idempotency_key=f"t-{learner.pk}")
    enrollment = purchase_course(
        learner=learner,
        course=CourseFactory(price_tokens=100),
        idempotency_key=f"p-{learner.pk}",
        at=timezone.now() - timedelta(days=days_ago),
    )
    Enrollment.objects.filter(pk=enrollment.pk).update(progress_pct=progress)
    enrollment.refresh_from_db()
    return enrollment


def url(enrollment: Enrollment) -> str:
    return f"/learner/my-courses/{enrollment.pk}/refund/"


def test_my_courses_offers_the_refund_when_eligible_and_says_why_not_otherwise(client):
    enrollment = bought()
    learner = enrollment.learner
    late = purchase_course(
        learner=learner,
        course=CourseFactory(price_tokens=50),
        idempotency_key="late",
        at=timezone.now() - timedelta(days=20),
    )
    far = purchase_course(learner=learner, course=CourseFactory(price_tokens=50), idempotency_key="far")
    Enrollment.objects.filter(pk=far.pk).update(progress_pct=45)
    html = signed_in(client, learner.user).get("/learner/my-courses/").content.decode()
    assert f'href="{url(enrollment)}"' in html and "Request a refund" in html
    ends = timezone.localtime(late.enrolled_at + timedelta(days=14))
    assert f"The 14-day refund window ended on {ends.day} {ends:%B %Y}." in html
    assert "You have completed 45% of the course" in html
    assert f'href="{url(late)}"' not in html and f'href="{url(far)}"' not in html


def test_the_confirmation_says_what_comes_back_and_the_post_refunds(client):
    enrollment = bought()
    signed_in(client, enrollment.learner.user)
    page = client.get(url(enrollment))
    assert page.status_code == 200
    assert 'data-testid="refund-tokens">100 tokens' in page.content.decode()
    response = client.post(url(enrollment))
    assert response.status_code == 302 and response["Location"] == "/learner/my-courses/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Refunded {enrollment.course.code} {enrollment.course.title}: 100 tokens are back in your wallet."
    ]
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.REFUNDED
    assert wallet_of(enrollment.learner).balance_tokens == 300
    # A second submit refunds nothing more.
    client.post(url(enrollment))
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1
    assert teacher_balances(enrollment.course.teacher).identity_holds
    assert_ledger_consistent()


def test_a_refused_refund_shows_the_reason_and_moves_nothing(client):
    enrollment = bought(progress=60)
    signed_in(client, enrollment.learner.user)
    page = client.get(url(enrollment)).content.decode()
    assert "A refund is not possible: You have completed 60% of the course" in page
    assert "confirm-refund" not in page
    response = client.post(url(enrollment))
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Not refunded: You have completed 60% of the course; a refund is possible only below 30%."
    ]
    assert not Transfer.objects.filter(kind=TransferKind.REFUND).exists()
    assert wallet_of(enrollment.learner).balance_tokens == 200


def test_another_learners_enrollment_is_a_missing_page(client):
    enrollment = bought()
    signed_in(client, LearnerFactory().user)
    assert client.get(url(enrollment)).status_code == 404
    assert client.post(url(enrollment)).status_code == 404
    assert not Transfer.objects.filter(kind=TransferKind.REFUND).exists()


def api_url(enrollment: Enrollment) -> str:
    return f"/api/v1/enrollments/{enrollment.pk}/refund/"


def test_api_learner_refunds_their_own_enrollment_once():
    enrollment = bought()
    client = api_client_for(enrollment.learner.user)
    response = client.post(api_url(enrollment))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {
        "enrollment_id": enrollment.pk,
        "transfer_key": f"refund:{enrollment.pk}",
        "refunded_tokens": 100,
        "from_teacher_pending": 80,
        "from_teacher_available": 0,
        "from_platform_treasury": 0,
        "commission_returned": 20,
        "status": "refunded",
    }
    assert client.post(api_url(enrollment)).json() == body
    assert Transfer.objects.filter(kind=TransferKind.REFUND).count() == 1


def test_api_refusals_are_precise_and_move_nothing():
    late = bought(days_ago=15)
    ends = timezone.localtime(late.enrolled_at + timedelta(days=14))
    response = api_client_for(late.learner.user).post(api_url(late))
    assert response.status_code == 400
    assert response.json()["detail"] == f"The 14-day refund window ended on {ends.day} {ends:%B %Y}."
    assert api_client_for(LearnerFactory().user).post(api_url(late)).status_code == 404
    assert api_client_for(TeacherFactory().user).post(api_url(late)).status_code == 403
    assert api_client_for(late.learner.user).post("/api/v1/enrollments/999999/refund/").status_code == 404
    assert not Transfer.objects.filter(kind=TransferKind.REFUND).exists()


def test_api_staff_refund_after_the_release_follows_the_staff_rule():
    enrollment = bought(days_ago=20)
    release_due()
    response = api_client_for(StaffFactory()).post(api_url(enrollment), {"reason": "Course withdrawn"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from_teacher_available"], body["from_platform_treasury"], body["refunded_tokens"]) == (
        80,
        0,
        100,
    )
    assert Transfer.objects.get(kind=TransferKind.REFUND).memo == "Course withdrawn"
    assert teacher_balances(enrollment.course.teacher).identity_holds
    assert_ledger_consistent()


def test_the_refund_endpoint_is_in_the_openapi_schema():
    schema = api_client_for(StaffFactory()).get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "post" in paths["/api/v1/enrollments/{enrollment_id}/refund/"]
