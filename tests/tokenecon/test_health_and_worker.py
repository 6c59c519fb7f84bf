"""The health endpoint and a task that travels through the real broker to a real worker.

On the default lane the broker is kombu's filesystem transport; CI runs this again with
CELERY_BROKER_URL=redis://... and PostgreSQL, with two workers.
"""

import os

import pytest
from django.db import connection

from tests.celery_worker import celery_workers
from tokenecon.tasks import ping_database

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker]

WORKERS = int(os.environ.get("TEST_CELERY_WORKERS", "1"))


def test_health_reports_503_when_no_worker_answers(client):
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"]["ok"] is False


def test_task_runs_in_a_worker_and_health_says_all_up(client):
    with celery_workers(WORKERS) as names:
        result = ping_database.delay()
        assert result.get(timeout=60) == {"database": True, "vendor": connection.vendor}
        response = client.get("/health/")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["status"] == "ok"
        assert set(names) <= set(body["worker"]["workers"])
