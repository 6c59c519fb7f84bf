"""The health endpoint and a task that travels through the real broker to a real worker.

On the default lane the broker is kombu's filesystem transport; CI runs this again with
CELERY_BROKER_URL=redis://... and PostgreSQL, with two workers.
"""

import os
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from tests.celery_worker import celery_workers
from tokenecon.celery import app
from tokenecon.models import WorkerHeartbeat
from tokenecon.services import health
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
        # From the workers' own heartbeat rows, not a ping that waits its whole timeout.
        assert body["worker"]["last_heartbeat_s_ago"] < body["worker"]["stale_after_s"]
    # A worker that stops cleanly removes its heartbeat: /health/ says so at once.
    assert not WorkerHeartbeat.objects.filter(hostname__in=names).exists()
    assert client.get("/health/").status_code == 503


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


def _heartbeat(hostname: str, *, age_s: float) -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        hostname=hostname, pid=1, started_at=now - timedelta(hours=1), beat_at=now - timedelta(seconds=age_s)
    )


def test_health_is_ok_from_a_recent_heartbeat_without_pinging(client, settings):
    settings.HEALTH_WORKER_STALE_S = 30
    _heartbeat("fresh@host", age_s=2)
    _heartbeat("gone@host", age_s=600)
    started = time.perf_counter()
    response = client.get("/health/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["worker"]["workers"] == ["fresh@host"]
    assert 1.5 <= body["worker"]["last_heartbeat_s_ago"] < 30
    # No ping: no waiting for replies (a ping waits its whole one-second timeout).
    assert elapsed < 0.9


def test_health_reports_a_stale_heartbeat_as_a_worker_down(client, settings):
    settings.HEALTH_WORKER_STALE_S = 30
    _heartbeat("silent@host", age_s=95)
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["worker"]
    assert "within 30 s" in body["worker"]["error"]
    assert "95 s ago" in body["worker"]["error"] or "96 s ago" in body["worker"]["error"]


def test_health_can_still_ping_the_workers_on_request():
    report = health.check_health(ping_workers=True, worker_timeout_s=0.2)
    assert report["worker"] == {
        "ok": False,
        "error": "RuntimeError: no Celery worker answered the ping",
        **{"ms": report["worker"]["ms"]},
    }


def test_the_heartbeat_thread_beats_and_a_clean_stop_removes_the_row(settings):
    settings.HEALTH_HEARTBEAT_S = 0.05
    worker = SimpleNamespace(hostname="thread-test@host")
    health.start_worker_heartbeat(sender=worker)
    try:
        first = WorkerHeartbeat.objects.get(hostname="thread-test@host").beat_at
        deadline = time.monotonic() + 10
        later = first
        while later == first and time.monotonic() < deadline:
            time.sleep(0.05)
            later = WorkerHeartbeat.objects.get(hostname="thread-test@host").beat_at
        assert later > first
    finally:
        health.stop_worker_heartbeat(sender=worker)
    assert not WorkerHeartbeat.objects.filter(hostname="thread-test@host").exists()
