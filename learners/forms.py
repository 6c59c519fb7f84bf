"""Learner portal forms: validation and messages for top-ups, catalog filters and enrolling."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator

from tokenecon.forms_fields import AsciiIntegerField
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


def top_up_amount_field() -> forms.IntegerField:
    """The amount a learner may buy at once: at most ``TOKEN_TOP_UP_MAX_TOKENS`` (read per form,
    so the setting can change without a restart), in ASCII digits only; the 24-hour cap is the
    service's to check."""
    most = settings.TOKEN_TOP_UP_MAX_TOKENS
    return AsciiIntegerField(
        label="Tokens to buy",
        min_value=1,
        max_value=most,
        error_messages={
            "required": "Say how many tokens to buy.",
            "invalid": "Enter a whole number of tokens, like 250.",
            "min_value": "Buy at least 1 token.",
            "max_value": f"Buy at most {most:,} tokens at a time.",
        },
        widget=forms.NumberInput(attrs={"min": 1, "max": most, "step": 1}),
    )


class TopUpForm(forms.Form):
    form_token = FormTokenField()
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=300)

    field_order = ["amount_tokens", "form_token", "next"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount_tokens"] = top_up_amount_field()
        self.order_fields(self.field_order)

    @classmethod
    def new(cls, *, asked_amount: str | None, next_url: str) -> TopUpForm:
        """A fresh form, pre-filled with the amount a link asked for when it is one this form
        would accept (a shortfall message links here with the tokens missing)."""
        initial = {"form_token": new_form_token(), "next": next_url}
        try:
            initial["amount_tokens"] = top_up_amount_field().clean(asked_amount)
        except forms.ValidationError:
            pass
        return cls(initial=initial)


class CatalogFilterForm(forms.Form):
    SORTS = [
        ("code", "Code"),
        ("title", "Title"),
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
