"""The API's one exception handler: a domain error from a service becomes ``{"detail": ...}``
with the error's own status code; everything else is DRF's default handling."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler

from tokenecon.errors import TokenEconomyError


def domain_exception_handler(exc, context):
    if isinstance(exc, TokenEconomyError):
        return Response({"detail": str(exc)}, status=exc.status_code)
    return exception_handler(exc, context)
