"""The API's JSON parser: DRF's, with limits on a request body's size and nesting depth.

Python's JSON decoder recurses once per nesting level, so a body nested a thousand levels deep
ends in ``RecursionError`` (a 500); no input of this API nests more than a few levels. The
constants ``NaN``, ``Infinity`` and ``-Infinity`` are read as floats so that the field they are
sent for refuses them by name (``tokenecon.api.fields.FiniteFloatField``) instead of the whole
body failing to parse.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deep enough for every request this API takes (the deepest, a new course's features, is 2).
MAX_JSON_DEPTH = 32
# Far above the largest valid body (1,000 recommendation ids or 200 prices).
MAX_JSON_BYTES = 1_000_000


def json_depth(value) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0, ``[]`` is 1), without recursing."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class LimitedJSONParser(JSONParser):
    """``application/json`` bodies up to ``MAX_JSON_BYTES`` nested at most ``MAX_JSON_DEPTH`` deep;
    anything else is a 400 that says which limit it broke."""

    max_depth = MAX_JSON_DEPTH
    max_bytes = MAX_JSON_BYTES

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read(self.max_bytes + 1) if stream is not None else b""
        if len(raw) > self.max_bytes:
            raise ParseError(f"JSON body larger than {self.max_bytes} bytes.")
        try:
            data = json.loads(raw.decode(encoding), parse_constant=float)
        except RecursionError as exc:
            raise ParseError(f"JSON nested deeper than {self.max_depth} levels.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_depth(data) > self.max_depth:
            raise ParseError(f"JSON nested deeper than {self.max_depth} levels.")
        return data
