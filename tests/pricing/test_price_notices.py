"""Teachers are told in the app when staff apply advice to their courses, one by one or in bulk,
and mark the notices as read (issue 15)."""

import pytest
from django.urls import reverse

from pricing.models import PriceNotice
from pricing.services.price_changes import apply_recommendation, apply_recommendations
from tests.factories import CourseFactory, PriceRecommendationFactory, StaffFactory, TeacherFactory
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def advice(price=120):
    return PriceRecommendationFactory(course=CourseFactory(price_tokens=price))


def test_staff_applying_advice_notifies_the_teacher():
    recommendation = advice()
    apply_recommendation(recommendation=recommendation, user=StaffFactory())
    (notice,) = PriceNotice.objects.all()
    assert notice.user == recommendation.course.teacher.user
    assert (
        notice.text
        == f"Staff changed the price of {recommendation.course.code} from 120 to 132 (advice applied)"
    )
    assert notice.price_change.new_price_tokens == 132 and notice.read_at is None


def test_bulk_apply_notifies_each_teacher_once_per_change():
    first, second = advice(), advice(200)
    apply_recommendations(ids=[first.pk, second.pk, first.pk], user=StaffFactory())
    assert sorted(PriceNotice.objects.values_list("user_id", flat=True)) == sorted(
        [first.course.teacher.user_id, second.course.teacher.user_id]
    )


def test_the_teacher_applying_their_own_advice_gets_no_notice():
    recommendation = advice()
    apply_recommendation(recommendation=recommendation, user=recommendation.course.teacher.user)
    assert not PriceNotice.objects.exists()


def test_a_refused_apply_writes_no_notice():
    recommendation = PriceRecommendationFactory(status="dismissed")
    apply_recommendations(ids=[recommendation.pk], user=StaffFactory())
    assert not PriceNotice.objects.exists()


def test_teacher_home_shows_notices_and_marks_them_read(client):
    recommendation = advice()
    apply_recommendation(recommendation=recommendation, user=StaffFactory())
    teacher_user = recommendation.course.teacher.user
    signed_in(client, teacher_user)
    page = client.get(reverse("pricing:teacher_home")).content.decode()
    assert f"Staff changed the price of {recommendation.course.code} from 120 to 132 (advice applied)" in page
    assert "1 unread" in page
    notice = PriceNotice.objects.get()
    response = client.post(reverse("pricing:notice_read", args=[notice.pk]))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert 'data-testid="notice"' not in client.get(reverse("pricing:teacher_home")).content.decode()


def test_another_teacher_cannot_mark_a_notice_read(client):
    recommendation = advice()
    apply_recommendation(recommendation=recommendation, user=StaffFactory())
    notice = PriceNotice.objects.get()
    signed_in(client, TeacherFactory().user)
    assert client.post(reverse("pricing:notice_read", args=[notice.pk])).status_code == 404
    assert client.post(reverse("pricing:notices_read_all")).status_code == 302
    notice.refresh_from_db()
    assert notice.read_at is None


def test_mark_all_read(client):
    teacher = TeacherFactory()
    for price in (100, 150):
        recommendation = PriceRecommendationFactory(course=CourseFactory(teacher=teacher, price_tokens=price))
        apply_recommendation(recommendation=recommendation, user=StaffFactory())
    signed_in(client, teacher.user)
    assert "2 unread" in client.get(reverse("pricing:teacher_home")).content.decode()
    client.post(reverse("pricing:notices_read_all"))
    assert not PriceNotice.objects.filter(read_at__isnull=True).exists()
