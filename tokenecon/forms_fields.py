"""Form fields shared by the portals' forms.

``AsciiIntegerField`` is Django's ``IntegerField`` reading ASCII digits only: ``int()`` also
reads other scripts' digits, so a top-up of "１００" (full-width) would otherwise buy 100 tokens.
"""

from __future__ import annotations

import re

from django import forms

# A whole number as Django's IntegerField reads it ("100", "+100", "100.0"), in ASCII digits.
ASCII_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


class AsciiIntegerField(forms.IntegerField):
    """A whole number written with the digits 0-9 (and an optional sign), as a form field."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not ASCII_INTEGER.fullmatch(value.strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)
