"""Forms of the teacher portal: the what-if price, and which recommendations a decision is about."""

from __future__ import annotations

from django import forms
from django.conf import settings


class WhatIfForm(forms.Form):
    price = forms.IntegerField(min_value=settings.TOKEN_PRICE_MIN, max_value=settings.TOKEN_PRICE_MAX)


class DecisionForm(forms.Form):
    recommendation = forms.IntegerField(min_value=1)


class BulkDecisionForm(forms.Form):
    """The recommendations ticked on the staff list (only whole numbers are taken)."""

    recommendation = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    # Live prices change only after staff have seen the list of changes and confirmed it.
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recommendation"].choices = [
            (str(pk), str(pk)) for pk in self.data.getlist("recommendation") if pk.isdigit()
        ]


class OwnPriceForm(forms.Form):
    """A teacher's own price for their course: asked, then confirmed (``confirm``) on a page that
    states the old and the new price. Today's guardrails are checked by the service."""

    price = forms.IntegerField(
        min_value=settings.TOKEN_PRICE_MIN,
        max_value=settings.TOKEN_PRICE_MAX,
        error_messages={
            "required": "Say the new price: a whole number of tokens.",
            "invalid": "The price must be a whole number of tokens.",
            "min_value": f"The price must be at least the platform minimum of {settings.TOKEN_PRICE_MIN} "
            "tokens.",
            "max_value": f"The price must be at most the platform maximum of {settings.TOKEN_PRICE_MAX} "
            "tokens.",
        },
    )
    from_slider = forms.BooleanField(required=False)
    confirm = forms.BooleanField(required=False)
