"""Liveness of the database, the Celery broker and at least one Celery worker."""

from __future__ import annotations

import time

from django.db import connection

from tokenecon.celery import app


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        status = {"ok": True, **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported with its text
        status = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    status["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return status


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _broker() -> dict:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport.driver_type}


def _workers(timeout_s: float) -> dict:
    replies = app.control.ping(timeout=timeout_s)
    names = sorted(name for reply in replies for name in reply)
    if not names:
        raise RuntimeError("no Celery worker answered the ping")
    return {"workers": names}


def check_health(*, worker_timeout_s: float = 1.0) -> dict:
    database = _timed(_database)
    broker = _timed(_broker)
    worker = (
        _timed(lambda: _workers(worker_timeout_s)) if broker["ok"] else {"ok": False, "error": "broker down"}
    )
    return {
        "status": "ok" if database["ok"] and broker["ok"] and worker["ok"] else "degraded",
        "database": database,
        "broker": broker,
        "worker": worker,
    }
