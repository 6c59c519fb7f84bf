"""Request facts the security checks share: the client address that login lockouts and the API's
failed-token limit count against."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the socket's, or behind ``TRUSTED_PROXY_COUNT`` proxies the address
    the outermost proxy saw (each proxy appends to X-Forwarded-For, so the entries a client wrote
    itself come before the trusted ones and are ignored). None when the request carries none (a
    login made in code, such as the test client's ``force_login``): django-axes stores it as
    NULL, where a made-up word would be refused by PostgreSQL's address column."""
    remote = _address_or_none(request.META.get("REMOTE_ADDR"))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    return _address_or_none(forwarded[-proxies]) or remote


def _address_or_none(value: str | None) -> str | None:
    """An IPv4 or IPv6 address as written, or None for anything else (which the database's
    address column would refuse with an error instead of a login)."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None
