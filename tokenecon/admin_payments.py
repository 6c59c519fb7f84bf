"""Admin for learners' top-up orders and the payment providers' webhook events: read-only (the
payment service writes them), with links to their ledger transfers and a refund action that asks
for confirmation first."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from tokenecon.admin import ReadOnlyAdmin, act_on_each
from tokenecon.models import OrderStatus, PaymentEvent, TopUpOrder
from tokenecon.services.payments import refund_top_up


def _transfer_link(transfer):
    if transfer is None:
        return "–"
    url = reverse("admin:tokenecon_transfer_change", args=[transfer.pk])
    return format_html('<a href="{}">{}</a>', url, transfer.idempotency_key)


@admin.action(description="Refund selected top-ups (takes back their unspent tokens)")
def refund_selected_top_ups(modeladmin, request, queryset):
    """First a confirmation page listing the orders; the confirmed POST refunds each on its own
    (a spent or unpaid one is reported and the others still go through)."""
    orders = list(queryset.select_related("learner__user"))
    if request.POST.get("post") != "yes":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Refund top-ups?",
            "orders": orders,
            "refundable": [o for o in orders if o.status == OrderStatus.PAID],
            "queryset": queryset,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "refund_selected_top_ups",
        }
        return TemplateResponse(request, "admin/tokenecon/topuporder/refund_confirmation.html", context)
    act_on_each(
        modeladmin,
        request,
        orders,
        act=lambda order: refund_top_up(order=order, by=request.user),
        name=lambda order: f"order {order.pk}",
        done="Refunded {count} top-up order(s).",
        not_done="Not refunded",
    )
    return None


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    fields = ["received_at", "provider", "event_type", "event_id", "outcome"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TopUpOrder)
class TopUpOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "learner",
        "pack",
        "tokens",
        "money_amount",
        "currency",
        "provider",
        "status",
        "created_at",
        "paid_at",
        "credit",
        "refund",
    ]
    list_filter = ["status", "provider", "pack"]
    search_fields = [
        "learner__user__username",
        "learner__external_id",
        "provider_session_id",
        "idempotency_key",
    ]
    list_select_related = ["learner__user", "transfer", "refund_transfer"]
    date_hierarchy = "created_at"
    readonly_fields = ["credit", "refund"]
    exclude = ["transfer", "refund_transfer"]
    inlines = [PaymentEventInline]
    actions = [refund_selected_top_ups]
    list_per_page = 50

    @admin.display(description="Credit transfer")
    def credit(self, order):
        return _transfer_link(order.transfer)

    @admin.display(description="Refund transfer")
    def refund(self, order):
        return _transfer_link(order.refund_transfer)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event_type", "event_id", "order_link", "outcome"]
    list_filter = ["provider", "event_type"]
    search_fields = ["event_id", "outcome"]
    list_select_related = ["order"]
    date_hierarchy = "received_at"
    readonly_fields = ["order_link"]
    exclude = ["order"]

    @admin.display(description="Order")
    def order_link(self, event):
        if event.order_id is None:
            return "–"
        url = reverse("admin:tokenecon_topuporder_change", args=[event.order_id])
        return format_html('<a href="{}">Order {}</a>', url, event.order_id)
