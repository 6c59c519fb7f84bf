"""Django admin for the marketplace and the ledger. Ledger rows are read-only here."""

import uuid

from django.contrib import admin, messages
from django.db.models import Q, Sum

from tokenecon.errors import TokenEconomyError
from tokenecon.models import (
    Account,
    Course,
    Enrollment,
    Entry,
    Learner,
    LearnerActivity,
    PriceChange,
    Teacher,
    Transfer,
    TransferKind,
)
from tokenecon.services.accounts import reverse_transfer
from tokenecon.services.refunds import staff_refund


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger rows are append-only: the admin shows them and never changes or deletes them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Teacher)
class TeacherAdmin(admin.ModelAdmin):
    list_display = ["external_id", "display_name", "quality_score", "years_experience", "joined_on"]
    search_fields = ["external_id", "display_name", "user__username"]
    list_filter = ["years_experience"]
    autocomplete_fields = ["user"]


@admin.register(Learner)
class LearnerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "user", "country", "joined_on", "age_group", "acquisition_channel"]
    search_fields = ["external_id", "user__username", "user__email"]
    list_filter = ["country", "age_group", "education", "acquisition_channel"]
    autocomplete_fields = ["user"]
    date_hierarchy = "joined_on"


class PriceChangeInline(admin.TabularInline):
    model = PriceChange
    extra = 0
    fields = ["effective_at", "old_price_tokens", "new_price_tokens", "source", "approved_by", "note"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "title",
        "teacher",
        "category",
        "difficulty",
        "price_tokens",
        "status",
        "launch_date",
    ]
    list_filter = ["category", "difficulty", "status", "certificate_offered"]
    search_fields = ["code", "title", "teacher__display_name", "teacher__external_id"]
    autocomplete_fields = ["teacher"]
    list_select_related = ["teacher"]
    inlines = [PriceChangeInline]


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    list_display = ["course", "old_price_tokens", "new_price_tokens", "effective_at", "source", "approved_by"]
    list_filter = ["source"]
    search_fields = ["course__code", "course__title"]
    autocomplete_fields = ["course", "approved_by"]
    list_select_related = ["course", "approved_by"]
    date_hierarchy = "effective_at"


def act_on_each(modeladmin, request, rows, *, act, name, done: str, not_done: str) -> None:
    """Run a ledger action on every selected row on its own: one refused row (a domain error)
    is reported and the others still go through."""
    count, refused = 0, []
    for row in rows:
        try:
            act(row)
            count += 1
        except TokenEconomyError as exc:
            refused.append(f"{name(row)}: {exc}")
    if count:
        modeladmin.message_user(request, done.format(count=count), messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, f"{not_done} {reason}", messages.ERROR)


@admin.action(description="Refund selected enrollments through the ledger (staff refund policy)")
def refund_selected(modeladmin, request, queryset):
    act_on_each(
        modeladmin,
        request,
        queryset,
        # Staff rules: any time; after the release the teacher's share comes from their
        # available balance as far as it goes, the rest from the treasury (services.refunds).
        act=lambda enrollment: staff_refund(
            enrollment=enrollment,
            idempotency_key=f"admin-refund-{enrollment.pk}-{uuid.uuid4()}",
            reason=f"Refunded by {request.user.username} in the admin",
        ),
        name=lambda enrollment: f"#{enrollment.pk}",
        done="Refunded {count} enrollment(s).",
        not_done="Not refunded",
    )


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "learner",
        "course",
        "enrolled_at",
        "price_paid_tokens",
        "discount_pct",
        "status",
        "progress_pct",
        "rating",
    ]
    list_filter = ["status", "course__category", "rating"]
    search_fields = ["learner__external_id", "course__code", "course__title"]
    autocomplete_fields = ["learner", "course"]
    list_select_related = ["learner", "course"]
    date_hierarchy = "enrolled_at"
    actions = [refund_selected]
    readonly_fields = ["list_price_tokens", "price_paid_tokens", "discount_pct"]

    def has_add_permission(self, request):
        # Enrollments are created by a purchase through the ledger, never typed in.
        return False


@admin.register(LearnerActivity)
class LearnerActivityAdmin(admin.ModelAdmin):
    list_display = [
        "learner",
        "day",
        "course",
        "lessons_completed",
        "minutes",
        "forum_posts",
        "assignments_submitted",
    ]
    search_fields = ["learner__external_id", "course__code"]
    autocomplete_fields = ["learner", "course"]
    date_hierarchy = "day"


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "owner", "balance_tokens", "created_at"]
    list_filter = ["kind"]
    search_fields = ["owner__username"]
    list_select_related = ["owner"]


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["account", "amount_tokens"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__owner")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.action(description="Reverse selected transfers (an adjustment moving every entry back)")
def reverse_selected(modeladmin, request, queryset):
    def reverse(transfer: Transfer) -> None:
        if transfer.kind == TransferKind.PURCHASE:
            raise TokenEconomyError("a purchase is undone by refunding its enrollment.")
        # One key per transfer: a second click replays the first reversal instead of a second one.
        reverse_transfer(
            transfer=transfer,
            idempotency_key=f"admin-reverse-{transfer.pk}",
            memo=f"Reversal of {transfer.idempotency_key} by {request.user.username}",
        )

    act_on_each(
        modeladmin,
        request,
        queryset,
        act=reverse,
        name=lambda transfer: transfer.idempotency_key,
        done="Reversed {count} transfer(s).",
        not_done="Not reversed",
    )


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "created_at", "moved_tokens", "legs", "memo", "enrollment", "reverses"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "memo"]
    date_hierarchy = "created_at"
    inlines = [EntryInline]
    actions = [reverse_selected]
    list_per_page = 50
    # A "Download as CSV" link keeping the list's filters (tokenecon/admin_csv.py).
    change_list_template = "admin/tokenecon/transfer/change_list.html"

    def get_urls(self):
        from tokenecon.admin_csv import transfer_csv_urls

        return transfer_csv_urls(self) + super().get_urls()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(moved=Sum("entries__amount_tokens", filter=Q(entries__amount_tokens__gt=0)))
            .prefetch_related("entries__account__owner")
        )

    @admin.display(description="Tokens moved", ordering="moved")
    def moved_tokens(self, transfer) -> str:
        return f"{transfer.moved or 0:,}"

    @admin.display(description="From → to")
    def legs(self, transfer) -> str:
        entries = list(transfer.entries.all())
        paying = ", ".join(str(e.account) for e in entries if e.amount_tokens < 0)
        receiving = ", ".join(str(e.account) for e in entries if e.amount_tokens > 0)
        return f"{paying} → {receiving}"


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "transfer", "account", "amount_tokens"]
    list_filter = ["account__kind", "transfer__kind"]
    search_fields = ["transfer__idempotency_key", "account__owner__username"]
    list_select_related = ["transfer", "account", "account__owner"]


from tokenecon import admin_coupons as _coupon_admin  # noqa: E402, F401 - registers the coupon admin
from tokenecon import admin_import  # noqa: E402, F401 - registers the CSV import view

# isort: split
from tokenecon import admin_payments  # noqa: E402, F401 - registers top-up orders and payment events

# isort: split
from tokenecon import admin_payouts  # noqa: E402, F401 - registers the payout requests
