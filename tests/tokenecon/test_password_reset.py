"""A user who forgot their password (or was imported with none) sets one through an e-mailed link."""

import re

import pytest
from django.core import mail

from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


def test_login_page_links_to_the_password_reset(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in html


def test_a_reset_link_by_e_mail_sets_a_new_password_once(client):
    learner = LearnerFactory(user__email="ada@example.com")
    response = client.post("/accounts/password_reset/", {"email": "ada@example.com"}, follow=True)
    assert 'data-testid="reset-sent"' in response.content.decode()
    assert len(mail.outbox) == 1 and learner.user.username in mail.outbox[0].body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-pass-2026", "new_password2": "a-new-pass-2026"},
        follow=True,
    )
    assert 'data-testid="reset-complete"' in done.content.decode()
    login = client.post(
        "/accounts/login/", {"username": learner.user.username, "password": "a-new-pass-2026"}, follow=True
    )
    assert login.context["user"] == learner.user
    assert not client.get(link, follow=True).context["validlink"]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True)
    assert 'data-testid="reset-sent"' in response.content.decode()
    assert mail.outbox == []
