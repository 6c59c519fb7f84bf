"""Numeric serializer fields every API input uses, so hostile numbers are a 400 naming the field.

``AsciiIntegerField`` / ``AsciiFloatField``: DRF's ``IntegerField`` and ``FloatField`` turn
strings into numbers with ``int()`` and ``float()``, which read every script's digits ("１００" is
100); these read ASCII digits only (JSON numbers are unaffected).
``FiniteFloatField`` refuses NaN and the infinities (DRF's ``FloatField`` takes ``"NaN"``,
``"inf"`` and ``1e400`` as floats) and always states its range, so the OpenAPI schema does too.
``DatabaseIdField`` is an integer id within the database's bigint range: a bigger number cannot
name a row, and handing it to the database driver is an ``OverflowError``.
``ensure_finite`` refuses an answer that came out non-finite (a 400 naming the inputs that led
there) instead of failing while rendering it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from tokenecon.forms_fields import ASCII_INTEGER

# Signed 64-bit, the range of BigAutoField ids on SQLite and PostgreSQL.
BIGINT_MAX = 2**63 - 1

# Python's float syntax in ASCII: digits, a point, an exponent, or a named non-finite value (this
# field only decides which characters are digits; refusing NaN and infinities is a range rule).
ASCII_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.I)


class AsciiIntegerField(serializers.IntegerField):
    """A whole number; a string must be written with the digits 0-9."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not ASCII_INTEGER.fullmatch(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiFloatField(serializers.FloatField):
    """A number; a string must be written with the digits 0-9."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not ASCII_FLOAT.fullmatch(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class FiniteFloatField(AsciiFloatField):
    """A float within ``[min_value, max_value]`` (or ``(min_value, max_value]`` with
    ``exclusive_min``); NaN and infinities are refused like any other invalid number."""

    default_error_messages = {
        "not_finite": "A finite number is required.",
        "out_of_range": "Ensure this value is greater than {min_value} and at most {max_value}.",
    }

    def __init__(self, *, min_value: float, max_value: float, exclusive_min: bool = False, **kwargs):
        self.exclusive_min = exclusive_min
        if exclusive_min:
            # DRF's range validators are inclusive: this field checks its exclusive range itself.
            super().__init__(**kwargs)
            self.min_value, self.max_value = min_value, max_value
        else:
            super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        if self.exclusive_min and not self.min_value < value <= self.max_value:
            self.fail("out_of_range", min_value=self.min_value, max_value=self.max_value)
        return value


class DatabaseIdField(AsciiIntegerField):
    """A row id: a whole number from 1 to the database's bigint maximum."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)


class FiniteFloatFieldSchema(OpenApiSerializerFieldExtension):
    """States an exclusive lower bound in the schema (drf-spectacular only knows inclusive ones)."""

    target_class = FiniteFloatField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = build_basic_type(OpenApiTypes.DOUBLE)
        schema["minimum"] = field.min_value
        schema["maximum"] = field.max_value
        if field.exclusive_min:
            schema["exclusiveMinimum"] = True
        return schema


def non_finite_paths(value, path: str = "") -> Iterable[str]:
    """The dotted paths of every NaN or infinite float inside ``value`` (dicts, lists, floats)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path or "value"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from non_finite_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from non_finite_paths(item, f"{path}.{index}" if path else str(index))


def ensure_finite(data, *, blame: Iterable[str]):
    """``data`` unchanged when every number in it is finite; otherwise a 400 on the ``blame``
    input fields (the inputs that drove the computation out of range)."""
    bad = list(non_finite_paths(data))
    if bad:
        message = f"These inputs give a result out of numeric range ({', '.join(bad)}); use smaller values."
        raise serializers.ValidationError({field: [message] for field in blame})
    return data
