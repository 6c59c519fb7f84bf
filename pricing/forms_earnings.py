"""The teacher's payout request form: an amount (or "all available"), the request's idempotency
key (made when the form is shown, so a double submit is one request), and the confirmation step."""

from __future__ import annotations

import uuid

from django import forms

from tokenecon.forms_fields import AsciiIntegerField


class PayoutRequestForm(forms.Form):
    amount_tokens = AsciiIntegerField(label="Tokens to pay out", required=False, min_value=1)
    all_available = forms.BooleanField(required=False, widget=forms.HiddenInput)
    key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, available: int, minimum: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.available, self.minimum = available, minimum
        self.fields["amount_tokens"].widget.attrs.update(
            {"min": minimum, "max": max(available, minimum), "step": 1}
        )
        if not self.is_bound:
            self.initial.setdefault("key", uuid.uuid4().hex)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("all_available"):
            data["amount_tokens"] = self.available
        amount = data.get("amount_tokens")
        if amount is None:
            self.add_error("amount_tokens", "Enter how many tokens to pay out, or choose all available.")
        elif amount < self.minimum:
            self.add_error(
                "amount_tokens", f"The minimum payout is {self.minimum:,} tokens; you asked for {amount:,}."
            )
        elif amount > self.available:
            self.add_error(
                "amount_tokens", f"You asked for {amount:,} tokens but only {self.available:,} are available."
            )
        return data


class StatementMonthForm(forms.Form):
    month = forms.CharField(max_length=7, required=False)
