"""Learner portal forms: validation and messages for catalog filters and enrolling (buying token
packs: ``forms_payments``)."""

from __future__ import annotations

import uuid

from django import forms
from django.core.validators import RegexValidator

from tokenecon.models import CourseCategory, Difficulty

SEARCH_MAX_LENGTH = 100

form_token_validator = RegexValidator(r"^[0-9a-f]{32}$", "This form has expired; reload the page.")


def new_form_token() -> str:
    """A fresh key per rendered form: submitting the same form twice reuses it, so the ledger's
    idempotency key turns the second submit into a replay instead of a second charge."""
    return uuid.uuid4().hex


class FormTokenField(forms.CharField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [form_token_validator])
        kwargs.setdefault("error_messages", {"required": "This form has expired; reload the page."})
        super().__init__(max_length=32, **kwargs)


class CatalogFilterForm(forms.Form):
    SORTS = [
        ("code", "Code"),
        ("title", "Title"),
        ("rating", "Top rated"),
        ("popular", "Most popular"),
        ("price", "Price: low to high"),
        ("-price", "Price: high to low"),
        ("newest", "Newest"),
    ]

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.SearchInput(attrs={"placeholder": "Title, code or description", "autocomplete": "off"}),
    )
    category = forms.ChoiceField(required=False, choices=[("", "All categories"), *CourseCategory.choices])
    level = forms.ChoiceField(required=False, choices=[("", "All levels"), *Difficulty.choices])
    price_min = forms.IntegerField(
        label="Min price",
        required=False,
        min_value=0,
        widget=forms.NumberInput(attrs={"placeholder": "min", "min": 0}),
    )
    price_max = forms.IntegerField(
        label="Max price",
        required=False,
        min_value=0,
        widget=forms.NumberInput(attrs={"placeholder": "max", "min": 0}),
    )
    sort = forms.ChoiceField(required=False, choices=SORTS)

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("price_min"), cleaned.get("price_max")
        if low is not None and high is not None and low > high:
            self.add_error("price_max", "The max price is below the min price.")
        return cleaned

    # form field -> argument of ``tokenecon.selectors.search_courses``
    SEARCH_ARGUMENTS = {
        "q": "query",
        "category": "category",
        "level": "difficulty",
        "price_min": "price_min",
        "price_max": "price_max",
        "sort": "sort",
    }

    def filters(self) -> dict:
        """The valid filters as arguments of ``search_courses``: a bad field is reported and
        ignored, the rest still apply."""
        self.is_valid()
        return {
            self.SEARCH_ARGUMENTS[name]: value
            for name, value in self.cleaned_data.items()
            if value not in (None, "")
        }


class EnrollForm(forms.Form):
    form_token = FormTokenField()
    price_tokens = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    offer = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
