"""Guessing passwords or API tokens is stopped: django-axes locks a username (from any address)
and an address (for any username) after ``AXES_FAILURE_LIMIT`` failures, on the login page and
the admin login, until the cool-off has passed; wrong API tokens are limited per address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import LearnerFactory, StaffFactory
from tests.helpers import signed_in
from tokenecon.security import client_ip

PASSWORD = "pass-word-123"  # the factories' password
LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
    settings.API_TOKEN_FAILURE_LIMIT = LIMIT
    cache.clear()
    yield
    cache.clear()


def client_from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def log_in(client: Client, username: str, password: str, *, url: str | None = None):
    return client.post(url or reverse("login"), {"username": username, "password": password})


def fail(client: Client, username: str, times: int, *, url: str | None = None) -> list[int]:
    return [log_in(client, username, "wrong-guess", url=url).status_code for _ in range(times)]


def pass_cool_off() -> None:
    """As if the cool-off had passed: every recorded failure is older than it."""
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(hours=1))


def test_wrong_passwords_lock_the_user_out_and_the_right_one_is_refused_during_cool_off(db):
    user = LearnerFactory().user
    attacker = client_from("203.0.113.7")
    statuses = fail(attacker, user.username, LIMIT)
    assert statuses[:-1] == [200] * (LIMIT - 1)  # the login page again, with its error
    assert statuses[-1] == 429  # the failure that reaches the limit answers the lockout page

    response = log_in(attacker, user.username, PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed logins" in body and "Try again in" in body
    assert "_auth_user_id" not in attacker.session


def test_the_user_is_locked_from_every_address_and_the_address_for_every_user(db):
    victim, bystander = LearnerFactory().user, LearnerFactory().user
    fail(client_from("203.0.113.7"), victim.username, LIMIT)
    # The username is locked wherever the right password comes from.
    assert log_in(client_from("198.51.100.20"), victim.username, PASSWORD).status_code == 429
    # The address is locked for every username: spraying one password over many users stops too.
    assert log_in(client_from("203.0.113.7"), bystander.username, PASSWORD).status_code == 429
    # Another user from another address is not affected.
    other = client_from("198.51.100.20")
    assert log_in(other, bystander.username, PASSWORD).status_code == 302
    assert other.session["_auth_user_id"] == str(bystander.pk)


def test_after_the_cool_off_the_right_password_logs_in(db):
    user = LearnerFactory().user
    client = client_from("203.0.113.7")
    fail(client, user.username, LIMIT)
    assert log_in(client, user.username, PASSWORD).status_code == 429
    pass_cool_off()
    response = log_in(client, user.username, PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_failures_below_the_limit_do_not_lock(db):
    user = LearnerFactory().user
    client = client_from("203.0.113.7")
    assert fail(client, user.username, LIMIT - 1) == [200] * (LIMIT - 1)
    assert log_in(client, user.username, PASSWORD).status_code == 302


def test_the_admin_login_is_locked_too(db):
    admin = StaffFactory(is_superuser=True)
    url = reverse("admin:login")
    client = client_from("203.0.113.7")
    assert fail(client, admin.username, LIMIT)[-1] == 429
    response = log_in(client, admin.username, PASSWORD, url=url)
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302  # still not signed in


def test_the_client_address_behind_trusted_proxies_is_the_forwarded_one(db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    user = LearnerFactory().user
    proxy = "10.0.0.1"
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    fail(attacker, "nobody-here", LIMIT)
    # Another client behind the same proxy is not locked out with the attacker...
    neighbour = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert log_in(neighbour, user.username, PASSWORD).status_code == 302
    # ...and a forged X-Forwarded-For entry does not get the attacker a fresh address.
    forged = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7")
    assert log_in(forged, user.username, PASSWORD).status_code == 429


def test_wrong_api_tokens_are_limited_per_address_even_before_the_right_one(db):
    user = LearnerFactory().user
    token = Token.objects.create(user=user)
    url = reverse("wallet")
    attacker = APIClient(REMOTE_ADDR="203.0.113.7")
    for i in range(LIMIT):
        attacker.credentials(HTTP_AUTHORIZATION=f"Token {i:040x}")
        assert attacker.get(url).status_code in (401, 403)
    attacker.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    refused = attacker.get(url)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many wrong API tokens" in refused.json()["detail"]
    # The token itself still works from another address.
    owner = APIClient(REMOTE_ADDR="198.51.100.20")
    owner.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert owner.get(url).status_code == 200


def test_a_locked_address_can_still_use_its_session_on_the_api(db):
    user = LearnerFactory().user
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    for i in range(LIMIT):
        client.credentials(HTTP_AUTHORIZATION=f"Token {i:040x}")
        client.get(reverse("wallet"))
    client.credentials()
    client.force_login(user)
    assert client.get(reverse("wallet")).status_code == 200


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [("", "", None), ("not-an-address", "", None), ("10.0.0.7", "", "10.0.0.7"), ("::1", "", "::1")],
)
def test_the_client_address_is_an_address_or_none(rf, remote, forwarded, expected):
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_a_login_made_in_code_without_an_address_is_recorded(db):
    # The test client's force_login sends no REMOTE_ADDR; PostgreSQL's address column refused the
    # placeholder "unknown" that was stored for it, so every such login failed in the second lane.
    client = signed_in(Client(), LearnerFactory().user)
    assert client.get("/learner/").status_code == 200
