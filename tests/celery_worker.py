"""Start real Celery worker processes against the test database and the lane's broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from tokenecon.celery import app

ROOT = Path(__file__).resolve().parent.parent
_RUNNING: dict[str, subprocess.Popen] = {}


def worker_processes(names: list[str]) -> list[subprocess.Popen]:
    return [_RUNNING[name] for name in names if name in _RUNNING]


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tokenecon.settings.test"
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
        env.pop("DATABASE_URL", None)
    else:
        user = settings_dict["USER"] or "postgres"
        host = settings_dict["HOST"] or "127.0.0.1"
        port = settings_dict["PORT"] or 5432
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        env["DATABASE_URL"] = f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"
    return env


@contextmanager
def celery_workers(count: int = 1, *, wait_s: float = 60.0):
    """Yield the names of ``count`` running workers; stop them afterwards."""
    env = _worker_env()
    processes = []
    names = [f"test{i}-{os.getpid()}@localhost" for i in range(count)]
    for name in names:
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "tokenecon",
                    "worker",
                    "--pool=solo",
                    "--loglevel=WARNING",
                    "-n",
                    name,
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    _RUNNING.update(zip(names, processes, strict=True))
    try:
        deadline = time.monotonic() + wait_s
        seen: set[str] = set()
        while time.monotonic() < deadline and seen != set(names):
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited: {process.stderr.read().decode()[-2000:]}")
            replies = app.control.ping(timeout=0.5)
            seen = {name for reply in replies for name in reply} & set(names)
        if seen != set(names):
            raise RuntimeError(f"workers did not answer within {wait_s}s: {sorted(seen)}")
        yield names
    finally:
        for name in names:
            _RUNNING.pop(name, None)
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
