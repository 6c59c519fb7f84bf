"""Liveness of the database (read and write), the Celery broker and at least one Celery worker.

``/health/`` answers within milliseconds: the database is probed on each call (a SELECT and a
rolled-back write, both fast, so an unwritable database is reported at once), the broker's
connection is opened, and the workers are not pinged (a ping waits its whole timeout, about a
second, on every call): each worker writes its own heartbeat row every ``HEALTH_HEARTBEAT_S``
seconds from a thread it starts when ready (``start_worker_heartbeat``, connected to Celery's
``worker_ready`` in tokenecon/apps.py) and deletes it when it stops cleanly; a worker counts as up
while its last beat is younger than ``HEALTH_WORKER_STALE_S``. A worker that cannot write to the
database stops beating, so it is reported down too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tokenecon.celery import app

logger = logging.getLogger(__name__)

# How long the write probe waits for the database's write lock before calling it unwritable.
WRITE_PROBE_TIMEOUT_S = 1.0
# Control messages (pings, broadcasts) no worker took within this long never will be.
STALE_CONTROL_MESSAGE_S = 300.0
_PIDBOX_SUFFIX = ".celery.pidbox"


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        status = {"ok": True, **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported with its text
        status = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    status["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return status


def _probe_write() -> None:
    """Write one row in a transaction that is rolled back: a locked or read-only database fails
    here (within ``WRITE_PROBE_TIMEOUT_S``), while a plain SELECT would still pass."""
    touch = "UPDATE django_migrations SET app = app WHERE id = (SELECT MIN(id) FROM django_migrations)"
    if connection.vendor == "sqlite":
        timeout_ms = int(WRITE_PROBE_TIMEOUT_S * 1000)
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(touch)
                transaction.set_rollback(True)
        finally:
            restore_ms = int(float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5)) * 1000)
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {restore_ms}")
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            timeout_ms = int(WRITE_PROBE_TIMEOUT_S * 1000)
            cursor.execute(f"SET LOCAL lock_timeout = {timeout_ms}")
            cursor.execute(f"SET LOCAL statement_timeout = {2 * timeout_ms}")
            cursor.execute(touch)
        transaction.set_rollback(True)


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    try:
        _probe_write()
    except Exception as exc:  # noqa: BLE001 - reported: the database reads but cannot be written
        raise RuntimeError(
            f"the database answers reads but not writes ({type(exc).__name__}: {exc})"
        ) from exc
    return {"vendor": connection.vendor, "writable": True}


def _broker() -> dict:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport.driver_type}


def _filesystem_queue_folder() -> Path | None:
    if not app.conf.broker_url or not str(app.conf.broker_url).startswith("filesystem"):
        return None
    folder = (app.conf.broker_transport_options or {}).get("data_folder_out")
    return Path(folder) if folder else None


def _message_files(folder: Path) -> set[str]:
    try:
        return {name for name in os.listdir(folder) if name.endswith(f"{_PIDBOX_SUFFIX}.msg")}
    except FileNotFoundError:
        return set()


def _queue_of(filename: str) -> str:
    # kombu's filesystem transport names a message "<ms>_<uuid>.<queue>.msg".
    return filename.removesuffix(".msg").split(".", 1)[1]


def remove_unread_control_messages(
    *, folder: Path, sent: set[str], answered: set[str], now: float | None = None
) -> int:
    """Delete the ping messages just ``sent`` to workers that did not answer, and any control
    message older than ``STALE_CONTROL_MESSAGE_S``.

    On kombu's filesystem transport a broadcast writes one file per bound control queue, and the
    queue of a worker that died stays bound: without this, every ``/health/`` call left one file
    per dead worker behind, forever.
    """
    now = time.time() if now is None else now
    removed = 0
    for name in _message_files(folder):
        queue = _queue_of(name)
        unanswered = name in sent and queue.removesuffix(_PIDBOX_SUFFIX) not in answered
        path = folder / name
        try:
            if unanswered or now - path.stat().st_mtime > STALE_CONTROL_MESSAGE_S:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # taken by a worker meanwhile
    return removed


def _workers(timeout_s: float) -> dict:
    folder = _filesystem_queue_folder()
    before = _message_files(folder) if folder else set()
    replies = app.control.ping(timeout=timeout_s)
    names = sorted(name for reply in replies for name in reply)
    if folder:
        sent = _message_files(folder) - before
        remove_unread_control_messages(folder=folder, sent=sent, answered=set(names))
    if not names:
        raise RuntimeError("no Celery worker answered the ping")
    return {"workers": names}


def heartbeat_interval_s() -> float:
    return float(getattr(settings, "HEALTH_HEARTBEAT_S", 10.0))


def worker_stale_s() -> float:
    return float(getattr(settings, "HEALTH_WORKER_STALE_S", 3 * heartbeat_interval_s()))


def beat(*, hostname: str, started_at: datetime, pid: int | None = None) -> None:
    """Write (or refresh) one worker's heartbeat row."""
    from tokenecon.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={
            "pid": os.getpid() if pid is None else pid,
            "started_at": started_at,
            "beat_at": timezone.now(),
        },
    )


class _Heart:
    """The beating thread of this worker process (one per process)."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.started_at = timezone.now()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="health-heartbeat", daemon=True)

    def _run(self) -> None:
        from django.db import connection as thread_connection

        try:
            while not self.stopped.wait(heartbeat_interval_s()):
                try:
                    beat(hostname=self.hostname, started_at=self.started_at)
                except Exception:  # noqa: BLE001 - a missed beat is what /health/ reports
                    logger.warning("worker heartbeat failed", exc_info=True)
                    thread_connection.close()
        finally:
            thread_connection.close()


_heart: _Heart | None = None


def start_worker_heartbeat(sender=None, **kwargs) -> None:
    """Celery ``worker_ready``: beat once now (so the worker is visible at once), then every
    ``HEALTH_HEARTBEAT_S`` seconds from a daemon thread."""
    global _heart
    hostname = getattr(sender, "hostname", None) or f"worker@{os.uname().nodename}"
    if _heart is not None:
        return
    _heart = _Heart(hostname)
    try:
        beat(hostname=hostname, started_at=_heart.started_at)
    except Exception:  # noqa: BLE001 - the thread tries again; /health/ reports the silence
        logger.warning("first worker heartbeat failed", exc_info=True)
    finally:
        connection.close()
    _heart.thread.start()


def stop_worker_heartbeat(sender=None, **kwargs) -> None:
    """Celery ``worker_shutdown``: stop beating and remove the row (a clean stop is not a
    silent worker)."""
    global _heart
    heart, _heart = _heart, None
    if heart is None:
        return
    heart.stopped.set()
    heart.thread.join(timeout=5)
    from tokenecon.models import WorkerHeartbeat

    try:
        WorkerHeartbeat.objects.filter(hostname=heart.hostname).delete()
    except Exception:  # noqa: BLE001 - the row then goes stale and reads as down
        logger.warning("could not remove the worker heartbeat", exc_info=True)
    finally:
        connection.close()


def _workers_from_heartbeats() -> dict:
    from tokenecon.models import WorkerHeartbeat

    now = timezone.now()
    stale_s = worker_stale_s()
    rows = list(WorkerHeartbeat.objects.order_by("hostname").values("hostname", "beat_at"))
    alive = [r["hostname"] for r in rows if r["beat_at"] >= now - timedelta(seconds=stale_s)]
    if not alive:
        if rows:
            latest = max(r["beat_at"] for r in rows)
            raise RuntimeError(
                f"no Celery worker has beaten within {stale_s:.0f} s "
                f"(the last heartbeat was {(now - latest).total_seconds():.0f} s ago)"
            )
        raise RuntimeError("no Celery worker heartbeat (no worker has started, or all stopped)")
    last = max(r["beat_at"] for r in rows if r["hostname"] in alive)
    return {
        "workers": alive,
        "last_heartbeat_s_ago": round((now - last).total_seconds(), 1),
        "stale_after_s": stale_s,
    }


def check_health(*, ping_workers: bool = False, worker_timeout_s: float = 1.0) -> dict:
    """The database, broker and worker checks. Workers are judged by their heartbeat rows;
    ``ping_workers=True`` pings them through the broker instead (slow: waits the timeout)."""
    database = _timed(_database)
    broker = _timed(_broker)
    if ping_workers:
        worker = (
            _timed(lambda: _workers(worker_timeout_s))
            if broker["ok"]
            else {"ok": False, "error": "broker down"}
        )
    else:
        # Read even when the database failed its write probe: a read-only database still shows
        # the heartbeats, which stop there since workers cannot write them.
        worker = _timed(_workers_from_heartbeats)
    checks = {"database": database, "broker": broker, "worker": worker}
    failed = [name for name, check in checks.items() if not check["ok"]]
    return {"status": "degraded" if failed else "ok", "failed": failed, **checks}
