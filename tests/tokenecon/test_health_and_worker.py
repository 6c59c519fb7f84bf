"""The health endpoint and a task that travels through the real broker to a real worker.

On the default lane the broker is kombu's filesystem transport; CI runs this again with
CELERY_BROKER_URL=redis://... and PostgreSQL, with two workers.
"""

import os
from pathlib import Path

import pytest
from django.db import connection

from tests.celery_worker import celery_workers
from tokenecon.celery import app
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


@pytest.mark.skipif(
    not app.conf.broker_url.startswith("filesystem"), reason="the leak is the filesystem transport's"
)
def test_health_leaves_no_message_files_for_a_dead_workers_control_queue(client):
    """A worker that died stays bound to the broadcast exchange; each ping wrote it a file."""
    queue_folder = Path(app.conf.broker_transport_options["data_folder_out"])
    with app.connection_for_write() as conn:
        app.control.mailbox(conn).get_queue("ghost-worker@nowhere")(conn.default_channel).declare()

    def control_files() -> list[str]:
        return [name for name in os.listdir(queue_folder) if name.endswith(".pidbox.msg")]

    before = control_files()
    for _ in range(4):
        assert client.get("/health/").status_code == 503
    left = control_files()
    assert not [name for name in left if "ghost-worker" in name]
    assert len(left) <= len(before)
