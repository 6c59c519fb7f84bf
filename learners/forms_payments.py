"""Learner portal forms for buying token packs: the order confirmation and the demo card form."""

from __future__ import annotations

from django import forms

from learners.forms import FormTokenField
from tokenecon.payments.demo import normalise_card_number


class BuyPackForm(forms.Form):
    """The confirmation of one pack: its token makes a double submit one order."""

    form_token = FormTokenField()
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=300)


class CardForm(forms.Form):
    """The demo provider's card form; the number is checked here and never stored."""

    card_number = forms.CharField(
        label="Card number",
        max_length=23,
        error_messages={"required": "Enter the card number."},
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "placeholder": "4242 4242 4242 4242"}
        ),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=300)

    def clean_card_number(self) -> str:
        try:
            return normalise_card_number(self.cleaned_data["card_number"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
