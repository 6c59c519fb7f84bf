"""OpenAPI schema pieces shared by every API view: the error answers each endpoint can give.

``document_common_errors`` (a drf-spectacular post-processing hook) adds the answers every
operation under ``/api/v1/`` can give whatever it does: 401 without credentials (with
``WWW-Authenticate: Token``), 403 for a role it does not serve or a session write without a
CSRF token, 429 when throttled, and 415 for a body in a content type it does not read.
``LIST_ERRORS`` are the extra answers of a filtered, paged list, for its
``@extend_schema(responses=...)``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}

COMMON_ERRORS = {
    "401": "Not signed in: send `Authorization: Token <key>` (or a session cookie)",
    "403": "Signed in, but this endpoint is not for the caller's role (or a session write lacks CSRF)",
    "429": "Too many requests: wait for the time in `Retry-After`",
}

LIST_ERRORS = {
    400: OpenApiResponse(description="A filter value is invalid: the parameter is named"),
    404: OpenApiResponse(description="No such page"),
}


def document_common_errors(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": DETAIL}}},
                )
            if "requestBody" in operation:
                responses.setdefault(
                    "415",
                    {
                        "description": "The body's content type is not one this endpoint reads",
                        "content": {"application/json": {"schema": DETAIL}},
                    },
                )
            responses["401"].setdefault(
                "headers", {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`"}}
            )
    return result
