"""Small helpers shared by the tests of every app."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from django.db import connection
from rest_framework.test import APIClient

THREADS = 8


def signed_in(client, user):
    """The test client signed in as ``user``, or left anonymous when ``user`` is None."""
    if user is not None:
        client.force_login(user)
    return client


def api_client_for(user) -> APIClient:
    """A DRF test client signed in as ``user`` (anonymous when None)."""
    return signed_in(APIClient(), user)


def run_in_threads(work: Callable[[int], object], threads: int = THREADS) -> Counter:
    """Run ``work(index)`` in ``threads`` real threads released together by a barrier, each on its
    own database connection; count the outcomes (a result, or an exception's class name)."""
    barrier = threading.Barrier(threads)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            barrier.wait()
            result = work(index)
        except Exception as exc:  # noqa: BLE001 - every outcome is counted and asserted by the caller
            result = type(exc).__name__
        finally:
            connection.close()
        with lock:
            outcomes[result] += 1

    pool = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    return outcomes
