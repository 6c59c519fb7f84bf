"""Database faults: a write lock held past the timeout, a read-only database and a failure halfway
through a purchase answer 503 with ``Retry-After`` (pages and API alike), write nothing, and
``/health/`` names the database it cannot write to.

The same tests run on SQLite (a second connection holding ``BEGIN EXCLUSIVE``, ``PRAGMA
query_only``) and on PostgreSQL (``LOCK TABLE ... IN EXCLUSIVE MODE``, ``default_transaction_read_only``).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    CourseFactory,
    LearnerFactory,
    PriceRecommendationFactory,
    StaffFactory,
    TopUpOrderFactory,
)
from tests.helpers import api_client_for, signed_in
from tokenecon.middleware import is_database_unavailable
from tokenecon.models import Account, Enrollment, Entry, PriceChange, TopUpOrder, Transfer, WorkerHeartbeat
from tokenecon.services import enrollment as enrollment_service
from tokenecon.services.accounts import top_up_wallet, wallet_of
from tokenecon.views import server_error

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "0" * 32
PASSWORD = "pass-word-123"


def _on_every_connection(sql: str):
    def run(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(sql)

    return run


@contextmanager
def _applied_to_new_connections(sql: str):
    """Run ``sql`` on every connection Django opens (the test client's requests close theirs)."""
    receiver = _on_every_connection(sql)
    connection.close()
    connection_created.connect(receiver)
    try:
        yield
    finally:
        connection_created.disconnect(receiver)
        connection.close()


@contextmanager
def locked_database(monkeypatch):
    """Another connection holds the write lock; ours gives up after 0.2 s instead of 30 s."""
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
        holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        connection.close()
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            connection.close()
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = ", ".join(connection.ops.quote_name(row[0]) for row in cursor.fetchall())
    holder = connection.copy()
    holder.connect()
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        # EXCLUSIVE mode lets others read but not write or lock rows, like SQLite's EXCLUSIVE in WAL.
        cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
    try:
        with _applied_to_new_connections("SET lock_timeout = '200ms'"):
            yield
    finally:
        holder.rollback()
        holder.close()


@contextmanager
def read_only_database(monkeypatch):
    if connection.vendor == "sqlite":
        sql = "PRAGMA query_only = ON"
    else:
        sql = "SET default_transaction_read_only = on"
    with _applied_to_new_connections(sql):
        yield


@pytest.fixture(params=[locked_database, read_only_database], ids=["locked", "read-only"])
def unwritable_database(request, monkeypatch):
    """The fault as a context manager, started by the test once its own rows are written."""
    return lambda: request.param(monkeypatch)


def _ledger_counts() -> tuple[int, int, int]:
    return Enrollment.objects.count(), Transfer.objects.count(), Entry.objects.count()


def _assert_retry_later(response, *, json_api: bool = False) -> None:
    assert response.status_code == 503, response.content[:500]
    assert response["Retry-After"].isdigit()
    if json_api:
        assert "Try again" in response.json()["detail"]
    else:
        assert b"Try again" in response.content and b"Traceback" not in response.content


@pytest.fixture
def funded_learner():
    learner = LearnerFactory()
    top_up_wallet(learner=learner, amount_tokens=500, idempotency_key="fault-funds")
    return learner


def test_a_purchase_on_an_unwritable_database_is_a_503_and_charges_nothing(
    client, funded_learner, unwritable_database
):
    course = CourseFactory()
    signed_in(client, funded_learner.user)
    before = _ledger_counts()
    with unwritable_database():
        response = client.post(
            reverse("learners:enroll", args=[course.code]), {"form_token": TOKEN, "price_tokens": 100}
        )
    _assert_retry_later(response)
    assert _ledger_counts() == before
    assert wallet_of(funded_learner).balance_tokens == 500


def test_a_top_up_on_an_unwritable_database_is_a_503_and_credits_nothing(
    client, funded_learner, unwritable_database
):
    signed_in(client, funded_learner.user)
    before = _ledger_counts()
    with unwritable_database():
        response = client.post(reverse("learners:buy_pack", args=["starter"]), {"form_token": TOKEN})
    _assert_retry_later(response)
    assert _ledger_counts() == before and not TopUpOrder.objects.exists()
    order = TopUpOrderFactory(learner=funded_learner)
    with unwritable_database():
        response = client.post(
            reverse("learners:pay_order", args=[order.pk]), {"card_number": "4242424242424242"}
        )
    _assert_retry_later(response)
    order.refresh_from_db()
    assert _ledger_counts() == before and order.status == "pending"
    assert wallet_of(funded_learner).balance_tokens == 500


def test_login_on_an_unwritable_database_is_a_503(client, unwritable_database):
    user = LearnerFactory().user
    with unwritable_database():
        response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    _assert_retry_later(response)
    user.refresh_from_db()
    assert user.last_login is None


def test_an_api_write_on_an_unwritable_database_is_a_503_json_detail(unwritable_database):
    recommendation = PriceRecommendationFactory()
    client = api_client_for(StaffFactory())
    changes_before = PriceChange.objects.count()
    with unwritable_database():
        response = client.post(f"/api/v1/pricing/recommendations/{recommendation.pk}/apply/")
    _assert_retry_later(response, json_api=True)
    assert response["Content-Type"] == "application/json"
    assert PriceChange.objects.count() == changes_before
    recommendation.refresh_from_db()
    assert recommendation.status == "pending"


def test_health_names_a_database_it_cannot_write_to(client, unwritable_database):
    with unwritable_database():
        response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failed"]
    assert body["database"]["ok"] is False
    assert "not writes" in body["database"]["error"]
    # The probe gives up within about a second, not the 30 s a locked write would wait.
    assert body["database"]["ms"] < 5000


def test_health_names_an_unwritable_database_even_while_a_worker_heartbeat_is_fresh(
    client, unwritable_database
):
    """The worker's heartbeat is recent, but the database check is made on this request: it is
    never answered from the heartbeat."""
    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="alive@host", pid=1, started_at=now, beat_at=now)
    with unwritable_database():
        response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failed"] and "not writes" in body["database"]["error"]
    assert body["database"]["ms"] < 5000


def test_a_ledger_write_failing_after_the_enrollment_row_leaves_no_partial_rows(
    client, funded_learner, monkeypatch
):
    """The enrollment row is written, then the ledger's write fails: the purchase is all or nothing."""
    course = CourseFactory()
    balances_before = nonzero_balances()
    real_post = enrollment_service.post_transfer_locked
    seen = {}

    def enrollment_then_failure(*args, **kwargs):
        seen["enrollments"] = Enrollment.objects.count()
        real_post(*args, **kwargs)
        raise OperationalError("database is locked")

    monkeypatch.setattr(enrollment_service, "post_transfer_locked", enrollment_then_failure)
    signed_in(client, funded_learner.user)
    before = _ledger_counts()
    response = client.post(
        reverse("learners:enroll", args=[course.code]), {"form_token": TOKEN, "price_tokens": 100}
    )
    assert seen["enrollments"] == before[0] + 1  # the enrollment existed when the ledger failed
    _assert_retry_later(response)
    assert _ledger_counts() == before
    assert wallet_of(funded_learner).balance_tokens == 500
    assert nonzero_balances() == balances_before


def nonzero_balances() -> dict[int, int]:
    """Every account holding tokens (looking an account up may create it, empty)."""
    return dict(Account.objects.exclude(balance_tokens=0).values_list("pk", "balance_tokens"))


@pytest.mark.parametrize(
    "message",
    [
        "database is locked",
        "attempt to write a readonly database",
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused',
    ],
)
def test_the_faults_that_mean_try_again_are_recognised(message):
    assert is_database_unavailable(OperationalError(message))


def test_other_database_errors_stay_errors():
    assert not is_database_unavailable(OperationalError("no such table: tokenecon_course"))
    assert not is_database_unavailable(ValueError("database is locked"))


def test_a_database_fault_outside_a_view_is_a_503_too(rf):
    """Django turns an error raised after the view (saving the session, say) into handler500."""
    try:
        raise OperationalError("database is locked")
    except OperationalError:
        page, api = server_error(rf.get("/learner/")), server_error(rf.get("/api/v1/wallet/"))
    assert (page.status_code, api.status_code) == (503, 503)
    assert page["Retry-After"] and b"Try again" in api.content
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(rf.get("/learner/")).status_code == 500
