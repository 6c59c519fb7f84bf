from django.contrib import admin, messages

from pricing.models import PriceRecommendation, PricingSettings
from pricing.services.recommendations import apply_recommendation, dismiss_recommendation
from tokenecon.errors import TokenEconomyError


def _decide_selected(modeladmin, request, queryset, decide, verb: str) -> None:
    done, refused = 0, []
    for recommendation in queryset.select_related("course"):
        try:
            decide(recommendation=recommendation, user=request.user)
        except TokenEconomyError as exc:
            refused.append(f"{recommendation.course.code}: {exc}")
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{verb} {done} recommendation(s).", messages.SUCCESS)
    for reason in refused[:20]:
        modeladmin.message_user(request, reason, messages.WARNING)
    if len(refused) > 20:
        modeladmin.message_user(request, f"… and {len(refused) - 20} more refused.", messages.WARNING)


@admin.action(description="Apply selected recommendations (sets the course prices)")
def apply_selected(modeladmin, request, queryset):
    _decide_selected(modeladmin, request, queryset, apply_recommendation, "Applied")


@admin.action(description="Dismiss selected recommendations")
def dismiss_selected(modeladmin, request, queryset):
    _decide_selected(modeladmin, request, queryset, dismiss_recommendation, "Dismissed")


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
    list_display = ["objective", "max_change_pct", "min_enrollments_for_advice", "updated_at"]
    fieldsets = [
        (
            "Objective and guardrails",
            {"fields": ["objective", "max_change_pct", "min_enrollments_for_advice"]},
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
