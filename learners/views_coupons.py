"""The learner's coupon code on a course page: an htmx POST answers the new price (or why the code
is refused, and which of code and personal offer applies) before anything is confirmed; the
enrollment confirmation then carries the code (``CouponEnrollForm``) into the purchase."""

from __future__ import annotations

from django import forms
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from learners.forms import EnrollForm
from learners.selectors import courses_on_sale, live_enrollment, price_choice
from tokenecon.htmx import render_page
from tokenecon.models import AccountKind
from tokenecon.permissions import role_required
from tokenecon.selectors import balance_of_user

CODE_MAX_LENGTH = 64


class CouponCodeForm(forms.Form):
    coupon = forms.CharField(
        label="Coupon code",
        max_length=CODE_MAX_LENGTH,
        error_messages={"required": "Enter a coupon code.", "max_length": "No coupon code is that long."},
    )


class CouponEnrollForm(EnrollForm):
    """The confirmation's form with the applied code; a free coupon confirms a price of 0."""

    price_tokens = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    coupon = forms.CharField(max_length=CODE_MAX_LENGTH, required=False, widget=forms.HiddenInput)


@role_required("learner")
@require_POST
def apply_coupon(request, code: str):
    """The price with the code typed on the course page: 400 (with the reason) when the code is
    refused or missing, the fragment for htmx (200, carrying the reason) otherwise the page."""
    learner = request.user.learner
    course = get_object_or_404(courses_on_sale(), code=code)
    form = CouponCodeForm(request.POST)
    choice = None
    if form.is_valid():
        choice = price_choice(learner=learner, course=course, code=form.cleaned_data["coupon"])
        if choice.refusal:
            form.add_error("coupon", choice.refusal)
    balance = balance_of_user(learner.user, AccountKind.LEARNER_WALLET)
    context = {
        "section": "catalog",
        "course": course,
        "coupon_form": form,
        "choice": choice if form.is_valid() else None,
        "balance_tokens": balance,
        "enrolled": live_enrollment(learner=learner, course=course) is not None,
    }
    return render_page(
        request,
        "learners/coupon_check.html",
        context,
        fragment="learners/partials/coupon_result.html",
        status=200 if form.is_valid() else 400,
        fragment_status=200,
    )
