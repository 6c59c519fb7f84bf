from django.contrib import admin, messages

from pricing.models import AdviceRun, PriceRecommendation, PricingSettings
from pricing.services.price_changes import Decision, apply_recommendations, dismiss_recommendations

REFUSALS_SHOWN = 20


def _report(modeladmin, request, decisions: list[Decision], verb: str) -> None:
    done = sum(d.done for d in decisions)
    refused = [f"{d.subject}: {d.refusal}" for d in decisions if not d.done]
    if done:
        modeladmin.message_user(request, f"{verb} {done} recommendation(s).", messages.SUCCESS)
    for reason in refused[:REFUSALS_SHOWN]:
        modeladmin.message_user(request, reason, messages.WARNING)
    if len(refused) > REFUSALS_SHOWN:
        modeladmin.message_user(
            request, f"… and {len(refused) - REFUSALS_SHOWN} more refused.", messages.WARNING
        )


@admin.action(description="Apply selected recommendations (sets the course prices)")
def apply_selected(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    _report(modeladmin, request, apply_recommendations(ids=ids, user=request.user), "Applied")


@admin.action(description="Dismiss selected recommendations")
def dismiss_selected(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    _report(modeladmin, request, dismiss_recommendations(ids=ids, user=request.user), "Dismissed")


@admin.register(PriceRecommendation)
class PriceRecommendationAdmin(admin.ModelAdmin):
    list_display = [
        "course",
        "status",
        "confidence",
        "current_price_tokens",
        "recommended_price_tokens",
        "change_pct",
        "earnings_change_tokens",
        "model_version",
        "created_at",
    ]
    list_filter = ["status", "confidence", "objective", "course__category", "model_version"]
    search_fields = ["course__code", "course__title", "course__teacher__display_name"]
    list_select_related = ["course"]
    readonly_fields = [f.name for f in PriceRecommendation._meta.fields]
    actions = [apply_selected, dismiss_selected]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    @admin.display(description="Change %")
    def change_pct(self, obj: PriceRecommendation) -> str:
        return f"{obj.price_change_pct:+.1f}%"

    @admin.display(description="Earnings change / 30 days")
    def earnings_change_tokens(self, obj: PriceRecommendation) -> str:
        return f"{obj.earnings_change:+.0f}"


@admin.register(PricingSettings)
class PricingSettingsAdmin(admin.ModelAdmin):
    """The one settings row. Until it is saved here, advice uses the model's defaults (nothing is
    written by reading them)."""

    list_display = ["objective", "max_change_pct", "min_enrollments_for_advice", "updated_at"]
    fieldsets = [
        (
            "Objective and guardrails",
            {"fields": ["objective", "max_change_pct", "min_enrollments_for_advice"]},
        ),
        (
            "Pacing: one step at a time, and a teacher's no stands",
            {"fields": ["cooldown_days", "dismissal_tolerance_pct"]},
        ),
        (
            "Strategies on top of the model's optimum",
            {
                "fields": [
                    ("competitive_active", "competitive_weight"),
                    ("lifecycle_active", "lifecycle_weight"),
                    ("time_based_active", "time_based_weight"),
                    "bundles_active",
                ],
                "description": "An active strategy with weight w moves the advice w of the way from the "
                "model's optimum toward its own proposal.",
            },
        ),
    ]

    def has_add_permission(self, request):
        return not PricingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AdviceRun)
class AdviceRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "status", "progress_pct", "recommendations_stored", "started_by", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in AdviceRun._meta.fields]

    def has_add_permission(self, request):
        return False
