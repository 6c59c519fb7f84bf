"""Payout requests in the admin: filter by status, provider and date; approve (pay) or reject the
selected requests through ``services.payouts`` after a confirmation page. Requests are made
only by teachers (the portal or the API) and their rows are never edited or deleted here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from tokenecon.errors import TokenEconomyError
from tokenecon.models import PayoutRequest, PayoutStatus
from tokenecon.services.payout_providers import payout_provider
from tokenecon.services.payouts import approve_many, reject_payout
from tokenecon.services.rates import tokens_to_money


def _confirm_page(modeladmin, request, queryset, *, action: str, title: str, template: str, extra=None):
    requested = list(queryset.filter(status=PayoutStatus.REQUESTED).select_related("teacher"))
    tokens = sum(p.amount_tokens for p in requested)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "action": action,
        "selected": requested,
        "skipped": queryset.exclude(status=PayoutStatus.REQUESTED).count(),
        "total_tokens": tokens,
        "total_money": tokens_to_money(tokens),
        "provider": payout_provider().name,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        **(extra or {}),
    }
    return TemplateResponse(request, template, context)


@admin.action(description="Approve and pay selected payout requests")
def approve_selected(modeladmin, request, queryset):
    if request.POST.get("post") != "yes":
        return _confirm_page(
            modeladmin,
            request,
            queryset,
            action="approve_selected",
            title="Approve and pay these payout requests?",
            template="admin/tokenecon/payoutrequest/confirm_decision.html",
        )
    decisions = approve_many(
        queryset.order_by("requested_at", "id"),
        by=request.user,
        reference=request.POST.get("reference", "")[:100],
    )
    paid = [d for d in decisions if d.ok]
    if paid:
        modeladmin.message_user(request, f"Paid {len(paid)} payout request(s).", messages.SUCCESS)
    for decision in decisions:
        if not decision.ok:
            modeladmin.message_user(
                request, f"Not paid #{decision.payout.pk}: {decision.error}", messages.ERROR
            )
    return None


@admin.action(description="Reject selected payout requests (tokens return to available)")
def reject_selected(modeladmin, request, queryset):
    reason = request.POST.get("reason", "").strip()
    if request.POST.get("post") != "yes" or not reason:
        return _confirm_page(
            modeladmin,
            request,
            queryset,
            action="reject_selected",
            title="Reject these payout requests?",
            template="admin/tokenecon/payoutrequest/confirm_decision.html",
            extra={
                "needs_reason": True,
                "reason_error": "A rejection needs a reason the teacher will read."
                if request.POST.get("post") == "yes"
                else "",
            },
        )
    count = 0
    for payout in queryset.order_by("requested_at", "id"):
        try:
            reject_payout(payout, by=request.user, reason=reason)
            count += 1
        except TokenEconomyError as exc:
            modeladmin.message_user(request, f"Not rejected #{payout.pk}: {exc}", messages.ERROR)
    if count:
        modeladmin.message_user(request, f"Rejected {count} payout request(s).", messages.SUCCESS)
    return None


@admin.register(PayoutRequest)
class PayoutRequestAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "teacher",
        "amount_tokens",
        "money_amount",
        "currency",
        "status",
        "requested_at",
        "decided_at",
        "decided_by",
        "provider",
        "provider_reference",
        "reason",
    ]
    list_filter = ["status", "provider", "currency", "requested_at", "decided_at"]
    search_fields = ["teacher__display_name", "teacher__external_id", "provider_reference", "idempotency_key"]
    list_select_related = ["teacher", "decided_by"]
    date_hierarchy = "requested_at"
    ordering = ["status", "requested_at", "id"]
    actions = [approve_selected, reject_selected]
    readonly_fields = [
        "teacher",
        "amount_tokens",
        "money_amount",
        "currency",
        "status",
        "idempotency_key",
        "hold_transfer",
        "settle_transfer",
        "provider",
        "provider_reference",
        "reason",
        "requested_at",
        "decided_at",
        "decided_by",
    ]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
