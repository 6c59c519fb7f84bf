"""Staff "view as" a teacher or learner, read-only (issue 15): staff see the viewed user's pages
with a banner, every write is refused, only staff can start it, and staff cannot be viewed as."""

import pytest
from django.urls import reverse

from tests.factories import CourseFactory, LearnerFactory, StaffFactory, TeacherFactory
from tests.helpers import signed_in
from tokenecon.models import Course, PriceChange
from tokenecon.view_as import SESSION_KEY

pytestmark = pytest.mark.django_db


def start(client, user, portal):
    return client.post(reverse("view_as_start"), {"user": user.pk, "portal": portal})


@pytest.fixture
def staff_client(client):
    return signed_in(client, StaffFactory())


def test_staff_see_the_teachers_pages_with_a_banner(staff_client):
    course = CourseFactory(price_tokens=100)
    other = CourseFactory()
    response = start(staff_client, course.teacher.user, "teacher")
    assert response.status_code == 302 and response["Location"] == reverse("pricing:teacher_home")
    page = staff_client.get(reverse("pricing:teacher_home")).content.decode()
    assert 'data-testid="view-as-banner"' in page and "(read-only)" in page
    assert course.teacher.user.username in page and course.code in page
    assert other.code not in page  # the viewed teacher's courses only
    detail = staff_client.get(reverse("pricing:course_detail", args=[course.code]))
    assert detail.status_code == 200
    # Another teacher's course is a 404 for the viewed teacher, as for the teacher themselves.
    assert staff_client.get(reverse("pricing:course_detail", args=[other.code])).status_code == 404
    # Staff pages are not reachable as the teacher.
    assert staff_client.get(reverse("pricing:staff_courses")).status_code == 403


def test_every_post_is_refused_with_a_clear_message(staff_client):
    course = CourseFactory(price_tokens=100)
    start(staff_client, course.teacher.user, "teacher")
    response = staff_client.post(
        reverse("pricing:course_set_price", args=[course.code]), {"price": 110, "confirm": "1"}
    )
    assert response.status_code == 403
    assert "read-only" in response.content.decode() and "nothing can be changed" in response.content.decode()
    assert Course.objects.get(pk=course.pk).price_tokens == 100 and not PriceChange.objects.exists()
    # Starting another view is a write too.
    assert start(staff_client, LearnerFactory().user, "learner").status_code == 403


def test_staff_see_the_learner_portal_and_stop(staff_client):
    learner = LearnerFactory()
    start(staff_client, learner.user, "learner")
    page = staff_client.get(reverse("learners:learner_home"))
    assert page.status_code == 200 and 'data-testid="view-as-banner"' in page.content.decode()
    response = staff_client.post(reverse("view_as_stop"))
    assert response.status_code == 302
    assert SESSION_KEY not in staff_client.session
    assert staff_client.get(reverse("learners:learner_home")).status_code == 403  # staff again
    assert staff_client.get(reverse("pricing:staff_courses")).status_code == 200


@pytest.mark.parametrize("factory", [TeacherFactory, LearnerFactory])
def test_non_staff_cannot_start_it(client, factory):
    target = TeacherFactory().user
    signed_in(client, factory().user)
    assert start(client, target, "teacher").status_code == 403
    assert client.get(reverse("view_as_pick")).status_code == 403
    assert SESSION_KEY not in client.session


def test_a_session_key_alone_gives_a_non_staff_user_nothing(client):
    """A key left in the session of someone who is not (or no longer) staff is dropped."""
    teacher = TeacherFactory()
    learner = LearnerFactory()
    signed_in(client, learner.user)
    session = client.session
    session[SESSION_KEY] = teacher.user.pk
    session.save()
    assert client.get(reverse("pricing:teacher_home")).status_code == 403
    assert SESSION_KEY not in client.session


def test_staff_cannot_view_as_staff_or_a_missing_user_or_a_wrong_portal(staff_client):
    response = staff_client.post(reverse("view_as_start"), {"user": StaffFactory().pk, "portal": "teacher"})
    assert response.status_code == 400 and "not as staff" in response.content.decode()
    assert start(staff_client, LearnerFactory().user, "teacher").status_code == 400
    response = staff_client.post(reverse("view_as_start"), {"user": 999_999, "portal": "learner"})
    assert response.status_code == 400
    assert SESSION_KEY not in staff_client.session


def test_a_staff_member_who_loses_staff_stops_viewing(staff_client):
    teacher = TeacherFactory()
    start(staff_client, teacher.user, "teacher")
    staff = StaffFactory._meta.model.objects.get(pk=staff_client.session["_auth_user_id"])
    staff.is_staff = False
    staff.save()
    assert staff_client.get(reverse("pricing:teacher_home")).status_code == 403
    assert SESSION_KEY not in staff_client.session


def test_the_pick_page_finds_teachers_and_learners_not_staff(staff_client):
    teacher = TeacherFactory()
    other_staff = StaffFactory()
    page = staff_client.get(reverse("view_as_pick")).content.decode()
    assert teacher.user.username in page and other_staff.username not in page
