"""Token authentication that a client cannot use to guess tokens: every wrong token counts
against the client address, and past ``API_TOKEN_FAILURE_LIMIT`` wrong tokens in
``API_TOKEN_FAILURE_WINDOW_SECONDS`` the API refuses token requests from that address with 429
and ``Retry-After`` until the window has passed, right token or not (else guessing would go on).

DRF's throttles cannot do this: authentication runs before them, so a wrong token answers 401
without ever being counted. Counts live in Django's cache (per process with the default
local-memory cache; a shared cache such as Redis makes them count across workers).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from tokenecon.security import client_ip


def _failures_key(request) -> str:
    return f"api-token-failures:{client_ip(request) or 'unknown'}"


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # no token offered: other authentication (a session) is not limited here
        key = _failures_key(request)
        if cache.get(key, 0) >= settings.API_TOKEN_FAILURE_LIMIT:
            raise Throttled(
                wait=settings.API_TOKEN_FAILURE_WINDOW_SECONDS,
                detail="Too many wrong API tokens from this address; try again later.",
            )
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            # The window starts at the first failure; add() leaves a running window alone.
            cache.add(key, 0, timeout=settings.API_TOKEN_FAILURE_WINDOW_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, timeout=settings.API_TOKEN_FAILURE_WINDOW_SECONDS)
            raise
