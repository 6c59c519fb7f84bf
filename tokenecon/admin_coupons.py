"""Coupons in the admin: staff create any coupon (any scope, funded by the teacher or the
platform), see its uses against the cap, change what may change (active, end of validity, caps)
and deactivate in bulk. The rules are the coupon service's (``validate_coupon_fields``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count

from tokenecon.errors import CouponInvalid
from tokenecon.models import Coupon, CourseCategory
from tokenecon.services.coupons import (
    EDITABLE,
    coupon_status,
    create_coupon,
    update_coupon,
    validate_coupon_fields,
)

CREATE_FIELDS = (
    "code",
    "kind",
    "percent_off",
    "tokens_off",
    "scope",
    "course",
    "teacher",
    "category",
    "funded_by",
    "valid_from",
    "valid_until",
    "max_uses",
    "max_uses_per_learner",
    "is_active",
)


class CouponAdminForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = CREATE_FIELDS

    request_user = None  # set by CouponAdmin.get_form

    def validate_unique(self):
        pass  # the service names a taken code (case-insensitively) itself

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        creating = self.instance.pk is None
        data = dict(cleaned)
        if not creating:
            data.setdefault("valid_from", self.instance.valid_from)
        for name, message in validate_coupon_fields(data, by=self.request_user, creating=creating).items():
            self.add_error(name if name in self.fields else None, message)
        if (
            not creating
            and cleaned.get("max_uses") is not None
            and cleaned["max_uses"] < self.instance.uses_count
        ):
            self.add_error(
                "max_uses", f"Already used {self.instance.uses_count} times; the cap cannot be lower."
            )
        return cleaned


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    form = CouponAdminForm
    list_display = [
        "code",
        "amount",
        "target",
        "funded_by",
        "uses",
        "max_uses_per_learner",
        "valid_from",
        "valid_until",
        "is_active",
        "status",
    ]
    list_filter = ["is_active", "kind", "scope", "funded_by"]
    search_fields = ["code", "course__code", "teacher__display_name"]
    list_select_related = ["course", "teacher"]
    autocomplete_fields = ["course", "teacher"]
    actions = ["deactivate_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["uses_count"]
        return [f for f in CREATE_FIELDS if f not in EDITABLE] + ["uses_count", "redemptions", "created_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(redeemed=Count("enrollments"))

    def has_delete_permission(self, request, obj=None):
        return False  # redemptions refer to it; deactivate instead

    @admin.display(description="Discount")
    def amount(self, coupon) -> str:
        if coupon.kind == "percent":
            return f"{coupon.percent_off.normalize():f}% off"
        return f"{coupon.tokens_off:,} tokens off"

    @admin.display(description="For")
    def target(self, coupon) -> str:
        if coupon.scope == "course":
            return coupon.course.code if coupon.course else "?"
        if coupon.scope == "teacher":
            return f"All of {coupon.teacher}"
        if coupon.scope == "category":
            return f"Category {dict(CourseCategory.choices).get(coupon.category, coupon.category)}"
        return "Every course"

    @admin.display(description="Uses / cap", ordering="uses_count")
    def uses(self, coupon) -> str:
        return (
            f"{coupon.uses_count:,} / {coupon.max_uses:,}"
            if coupon.max_uses
            else f"{coupon.uses_count:,} / ∞"
        )

    @admin.display(description="Redemptions")
    def redemptions(self, coupon) -> int:
        return coupon.enrollments.count()

    @admin.display(description="Status")
    def status(self, coupon) -> str:
        return coupon_status(coupon)

    def save_model(self, request, obj, form, change):
        try:
            if change:
                changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
                saved = update_coupon(coupon=Coupon.objects.get(pk=obj.pk), by=request.user, **changes)
            else:
                saved = create_coupon(
                    by=request.user, **{name: form.cleaned_data.get(name) for name in CREATE_FIELDS}
                )
        except CouponInvalid as exc:  # a race with another staff member's code
            messages.error(request, str(exc))
            raise
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description="Deactivate the selected coupons")
    def deactivate_selected(self, request, queryset):
        count = queryset.filter(is_active=True).update(is_active=False)
        self.message_user(request, f"Deactivated {count} coupon(s); uses already made stand.")
