"""The teacher's coupon form: the rules (code, amount, window, scope, funder) are the coupon
service's, shared with the admin and the API; this form only parses the fields."""

from __future__ import annotations

from django import forms

from tokenecon.models import CouponKind, Course
from tokenecon.services.coupons import validate_coupon_fields

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class TeacherCouponForm(forms.Form):
    code = forms.CharField(max_length=32, help_text="3-32 letters, digits, '-' or '_'; matched in any case")
    kind = forms.ChoiceField(choices=CouponKind.choices, initial=CouponKind.PERCENT)
    percent_off = forms.DecimalField(
        required=False, max_digits=5, decimal_places=2, label="Percent off", help_text="Above 0, at most 100"
    )
    tokens_off = forms.IntegerField(required=False, label="Tokens off")
    scope = forms.ChoiceField(choices=[("course", "One of my courses"), ("teacher", "All my courses")])
    course = forms.ModelChoiceField(queryset=Course.objects.all(), required=False)
    valid_from = forms.DateTimeField(required=False, widget=DATETIME)
    valid_until = forms.DateTimeField(required=False, widget=DATETIME)
    max_uses = forms.IntegerField(required=False, label="Total uses", help_text="Empty: no cap")
    max_uses_per_learner = forms.IntegerField(initial=1, label="Uses per learner")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Any course id is parsed, so another teacher's course is refused by the service with its
        # own message; only the teacher's own courses are offered.
        own = Course.objects.filter(teacher__user=user).order_by("code")
        self.fields["course"].widget.choices = [("", "---------")] + [
            (c.pk, f"{c.code} {c.title}") for c in own
        ]
        self.fields["course"].error_messages["invalid_choice"] = "No such course."

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        for name, message in validate_coupon_fields(cleaned, by=self.user).items():
            self.add_error(name if name in self.fields else None, message)
        return cleaned
