"""Request facts the security checks share: the client address that login lockouts and the API's
failed-token limit count against."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: the socket's, or behind ``TRUSTED_PROXY_COUNT`` proxies the address
    the outermost proxy saw (each proxy appends to X-Forwarded-For, so the entries a client wrote
    itself come before the trusted ones and are ignored)."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
