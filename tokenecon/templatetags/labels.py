"""Display labels for stored codes: ``{% load labels %}`` ``{{ row.category|category_label }}``.

Reports and stored JSON keep the codes (``data_science``); pages show the labels of the model's
choices ("Data science"). An unknown code is shown as it is rather than hidden.
"""

from __future__ import annotations

from django import template

from tokenecon.models import CourseCategory, EnrollmentStatus

register = template.Library()

CATEGORY_LABELS = dict(CourseCategory.choices)
ENROLLMENT_STATUS_LABELS = dict(EnrollmentStatus.choices)


@register.filter
def category_label(value) -> str:
    """The label of a course category code (``test_prep`` -> ``Test preparation``)."""
    return CATEGORY_LABELS.get(value, value)


@register.filter
def enrollment_status_label(value) -> str:
    """The label of an enrollment status code."""
    return ENROLLMENT_STATUS_LABELS.get(value, value)
