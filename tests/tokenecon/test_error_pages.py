"""Error pages look like the rest of the site and say what happened."""

import pytest
from django.template import loader
from django.test import override_settings

from tests.factories import CourseFactory, LearnerFactory, TeacherFactory
from tests.helpers import signed_in
from tokenecon.models import Enrollment
from tokenecon.services.accounts import top_up_wallet

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=False)
def test_a_missing_page_is_the_styled_404_with_the_navigation(client):
    html = signed_in(client, LearnerFactory().user).get("/learner/courses/NOPE/").content.decode()
    assert 'data-testid="error-404"' in html and "Learner portal" in html and "Log out" in html


def test_a_page_for_another_role_is_the_styled_403_saying_whom_it_is_for(client):
    response = signed_in(client, TeacherFactory().user).get("/learner/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="error-403"' in html and "This page is for learners." in html


def test_the_500_page_renders_without_a_request_context():
    html = loader.get_template("500.html").render({})
    assert 'data-testid="error-500"' in html and "no tokens moved" in html


def test_a_broken_enroll_form_shows_the_confirmation_with_the_reason(client):
    learner, course = LearnerFactory(), CourseFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="funded")
    url = f"/learner/courses/{course.code}/enroll/"
    response = signed_in(client, learner.user).post(url, {"price_tokens": 1})
    assert response.status_code == 400
    html = response.content.decode()
    assert "incomplete or expired; confirm again below" in html and 'data-testid="confirm-enroll"' in html
    assert not Enrollment.objects.exists()
