"""Serializer fields shared by the API's input serializers.

DRF's ``IntegerField`` and ``FloatField`` turn strings into numbers with ``int()`` and
``float()``, which read every script's digits ("１００" is 100). These read ASCII digits only;
JSON numbers are unaffected.
"""

from __future__ import annotations

import re

from rest_framework import serializers

from tokenecon.forms_fields import ASCII_INTEGER

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
