"""A database that cannot take the request right now (a write lock held past the timeout, a
read-only database, a server that refuses connections) answers 503 with ``Retry-After`` instead of
a 500: nothing was written (every write is one transaction), so trying again later is right.

``DatabaseUnavailableMiddleware`` maps the error when a view raises it, DRF views included (DRF's
own handler only answers ``APIException``s and re-raises the rest); ``tokenecon.views.server_error``
(the project's ``handler500``) maps it when it comes from elsewhere, such as saving the session
after the view. The API gets ``{"detail": ...}`` JSON, pages a short HTML page.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5
RETRY_MESSAGE = "The database is busy or read-only for a moment; nothing was changed. Try again shortly."

# SQLite says what went wrong only in the message.
_SQLITE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "readonly database",
    "unable to open database file",
)
# PostgreSQL SQLSTATEs of a database that refuses for now: read-only transaction (hot standby,
# default_transaction_read_only), lock and statement timeouts, deadlock and serialization
# failures; whole classes for connection trouble (08), shutdown (57P) and resources (53).
_PG_STATES = {"25006", "55P03", "57014", "40001", "40P01"}
_PG_CLASSES = ("08", "57P", "53")


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def is_database_unavailable(exc: BaseException) -> bool:
    """True for a database error that says "not now" rather than "this request is wrong"."""
    if not isinstance(exc, DatabaseError):
        return False
    state = _sqlstate(exc)
    if state:
        return state in _PG_STATES or state.startswith(_PG_CLASSES)
    message = str(exc).lower()
    if any(text in message for text in _SQLITE_MESSAGES):
        return True
    # A PostgreSQL connection that failed before any statement (refused, reset) has no SQLSTATE.
    return isinstance(exc, OperationalError) and ("connection" in message or "server" in message)


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": RETRY_MESSAGE}, status=503)
    else:
        html = render_to_string(
            "database_unavailable.html", {"message": RETRY_MESSAGE, "retry_after_s": RETRY_AFTER_S}
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        logger.warning("Database unavailable for %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request)
