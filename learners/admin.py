"""Django admin for learners' scores and offers: staff read why a learner got an offer here."""

from django.contrib import admin

from learners.models import LearnerScore, Offer


@admin.register(LearnerScore)
class LearnerScoreAdmin(admin.ModelAdmin):
    """Scores are written by the scoring run; the admin reads them."""

    list_display = [
        "learner",
        "segment",
        "enroll_prob",
        "churn_prob",
        "complete_prob",
        "upsell_prob",
        "price_sensitivity",
        "churn_risk",
        "scored_at",
    ]
    list_filter = ["segment", "churn_risk"]
    search_fields = ["learner__external_id", "learner__user__username"]
    list_select_related = ["learner"]
    readonly_fields = [f.name for f in LearnerScore._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    """Offers are chosen by the offer policy and redeemed through the ledger; staff read the
    reasoning here and may expire one, not invent or redeem one by hand."""

    list_display = [
        "id",
        "learner",
        "course",
        "category",
        "discount_pct",
        "status",
        "policy",
        "channel",
        "expected_incremental_tokens",
        "expires_at",
    ]
    list_filter = ["status", "policy", "channel", "category"]
    search_fields = ["learner__external_id", "course__code", "reason"]
    list_select_related = ["learner", "course"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Offer._meta.fields if f.name not in ("status", "expires_at")]

    def has_add_permission(self, request):
        return False
