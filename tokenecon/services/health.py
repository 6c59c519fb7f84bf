"""Liveness of the database (read and write), the Celery broker and at least one Celery worker."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.db import connection, transaction

from tokenecon.celery import app

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


def check_health(*, worker_timeout_s: float = 1.0) -> dict:
    database = _timed(_database)
    broker = _timed(_broker)
    worker = (
        _timed(lambda: _workers(worker_timeout_s)) if broker["ok"] else {"ok": False, "error": "broker down"}
    )
    checks = {"database": database, "broker": broker, "worker": worker}
    failed = [name for name, check in checks.items() if not check["ok"]]
    return {"status": "degraded" if failed else "ok", "failed": failed, **checks}
