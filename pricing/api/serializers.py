"""Pricing API serializers: explicit input validation and output shapes, nothing else."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pricing.ml.elasticity import DEMAND_TYPES
from pricing.models import PriceRecommendation, PricingSettings
from pricing.services.staleness import AdviceFreshness, advice_freshness
from tokenecon.api.fields import DatabaseIdField, FiniteFloatField
from tokenecon.models import CourseCategory, Difficulty

MAX_PRICES = 200
MAX_PRICE_TOKENS = 100_000
# Enrollments per 30 days a caller may claim as a starting point: far above any real course.
MAX_ENROLLMENTS = 1_000_000


class OptimizeInputSerializer(serializers.Serializer):
    course_id = serializers.CharField(max_length=16, min_length=1, help_text="Course code, e.g. C00001")
    objective = serializers.ChoiceField(
        choices=PricingSettings.Objective.choices,
        required=False,
        help_text="What to maximise; the admin's setting when omitted",
    )
    current_price = FiniteFloatField(
        required=False,
        min_value=1,
        max_value=MAX_PRICE_TOKENS,
        help_text="Starting price in tokens instead of the course's price today",
    )
    current_enrollments = FiniteFloatField(
        required=False,
        min_value=0.01,
        max_value=MAX_ENROLLMENTS,
        help_text="Enrollments per 30 days at the starting price; rescales the model's demand level",
    )


class IntervalSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class OptimizeIntervalsSerializer(serializers.Serializer):
    current_enrollments = IntervalSerializer(source="enrollments_current_interval")
    predicted_enrollments = IntervalSerializer(source="enrollments_recommended_interval")
    revenue_increase_pct = IntervalSerializer(source="revenue_change_pct_interval")


class OptimizeOutputSerializer(serializers.Serializer):
    """A ``pricing.services.forecasts.CourseOptimisation`` under the optimize API's names."""

    course_id = serializers.CharField(source="course_code")
    objective = serializers.CharField()
    current_price = serializers.FloatField()
    current_enrollments = serializers.FloatField(
        source="expected_enrollments_current", help_text="Expected per 30 days at the current price"
    )
    optimal_price = serializers.FloatField(
        source="recommended_price", help_text="Recommended price (guardrails and strategies applied)"
    )
    model_optimal_price = serializers.FloatField(help_text="The model's optimum before strategies")
    price_change_pct = serializers.FloatField()
    predicted_enrollments = serializers.FloatField(
        source="expected_enrollments_recommended", help_text="Expected per 30 days at the optimal price"
    )
    enrollment_change_pct = serializers.FloatField()
    current_revenue = serializers.FloatField(
        source="expected_revenue_current", help_text="Gross tokens per 30 days"
    )
    optimal_revenue = serializers.FloatField(source="expected_revenue_recommended")
    revenue_increase = serializers.FloatField()
    revenue_increase_pct = serializers.FloatField(source="revenue_change_pct")
    elasticity_coefficient = serializers.FloatField(
        source="elasticity_current", help_text="Elasticity at the current price"
    )
    demand_type = serializers.ChoiceField(choices=DEMAND_TYPES)
    confidence = serializers.CharField()
    recommendation = serializers.CharField(source="reason")
    intervals = OptimizeIntervalsSerializer(source="*")
    bounds = IntervalSerializer(help_text="Price range the guardrails allowed")
    model_version = serializers.IntegerField()
    model_algorithm = serializers.CharField()


class NewCourseSerializer(serializers.Serializer):
    """A course that is not in the catalog (yet): what the demand model needs to know of it."""

    category = serializers.ChoiceField(choices=CourseCategory.choices)
    difficulty = serializers.ChoiceField(choices=Difficulty.choices)
    duration_hours = FiniteFloatField(min_value=0.5, max_value=1000)
    certificate_offered = serializers.BooleanField()
    teacher_quality = FiniteFloatField(min_value=0, max_value=100, help_text="0-100")
    teacher_years = FiniteFloatField(min_value=0, max_value=80)
    usual_price = FiniteFloatField(
        required=False,
        min_value=1,
        max_value=MAX_PRICE_TOKENS,
        help_text="The price the course is meant to sell at; the category's average when omitted",
    )
    course_age_weeks = FiniteFloatField(
        required=False, min_value=0, max_value=520, help_text="0 (default): just launched"
    )


class PredictInputSerializer(serializers.Serializer):
    course_id = serializers.CharField(
        max_length=16, min_length=1, required=False, help_text="Course code, e.g. C00001 (or give `course`)"
    )
    course = NewCourseSerializer(required=False, help_text="Features of a course not in the catalog")
    prices = serializers.ListField(
        child=FiniteFloatField(min_value=0, max_value=MAX_PRICE_TOKENS, exclusive_min=True),
        allow_empty=False,
        max_length=MAX_PRICES,
        help_text=f"1 to {MAX_PRICES} prices in tokens, each above 0 and at most {MAX_PRICE_TOKENS}",
    )

    def validate(self, attrs: dict) -> dict:
        if ("course_id" in attrs) == ("course" in attrs):
            raise serializers.ValidationError(
                {
                    "course_id": [
                        "Give either course_id (a catalog course) or course (its features), not both."
                    ]
                }
            )
        return attrs


class PricePredictionSerializer(serializers.Serializer):
    price = serializers.FloatField()
    predicted_enrollments = serializers.FloatField(help_text="Per 30 days")
    predicted_revenue = serializers.FloatField(help_text="Gross tokens per 30 days")
    teacher_earnings = serializers.FloatField(help_text="Tokens per 30 days after commission")
    elasticity = serializers.FloatField()


class PredictOutputSerializer(serializers.Serializer):
    course_id = serializers.CharField(allow_null=True, help_text="Null for a course given by its features")
    current_price = serializers.FloatField(help_text="Today's price, or the usual price of a new course")
    predictions = PricePredictionSerializer(many=True)
    model_version = serializers.IntegerField()
    model_algorithm = serializers.CharField()


class RecommendationSerializer(serializers.ModelSerializer):
    course_id = serializers.CharField(source="course.code")
    course_title = serializers.CharField(source="course.title")
    category = serializers.CharField(source="course.category")
    price_change_pct = serializers.FloatField()
    earnings_change = serializers.FloatField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    stale = serializers.SerializerMethodField(
        help_text="Pending advice computed with a model version that is no longer in production: "
        "it cannot be applied until the advice is recomputed"
    )
    stale_reason = serializers.SerializerMethodField()

    def _freshness(self) -> AdviceFreshness:
        # Asked once per answer (a list of 50 asks once), on the outermost serializer.
        root = self.root
        if not hasattr(root, "_advice_freshness"):
            root._advice_freshness = advice_freshness()
        return root._advice_freshness

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_stale(self, recommendation: PriceRecommendation) -> bool:
        return self._freshness().is_stale(recommendation)

    @extend_schema_field(OpenApiTypes.STR)
    def get_stale_reason(self, recommendation: PriceRecommendation) -> str:
        return self._freshness().stale_reason(recommendation)

    class Meta:
        model = PriceRecommendation
        fields = [
            "id",
            "course_id",
            "course_title",
            "category",
            "status",
            "confidence",
            "objective",
            "current_price_tokens",
            "recommended_price_tokens",
            "model_optimal_price_tokens",
            "price_change_pct",
            "expected_enrollments_current",
            "expected_enrollments_recommended",
            "expected_revenue_current",
            "expected_revenue_recommended",
            "teacher_earnings_current",
            "teacher_earnings_recommended",
            "earnings_change",
            "elasticity_current",
            "elasticity_recommended",
            "reason",
            "details",
            "model_version",
            "model_algorithm",
            "stale",
            "stale_reason",
            "decided_by",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


class PriceChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    old_price_tokens = serializers.IntegerField(allow_null=True)
    new_price_tokens = serializers.IntegerField()
    effective_at = serializers.DateTimeField()
    source = serializers.CharField()
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, default=None)


class ApplyOutputSerializer(serializers.Serializer):
    recommendation = RecommendationSerializer()
    price_change = PriceChangeSerializer()


class BulkApplyInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=DatabaseIdField(), allow_empty=False, max_length=1000)


class BulkApplyResultSerializer(serializers.Serializer):
    """A ``pricing.services.price_changes.Decision``: applied with the price move, or the refusal."""

    id = serializers.IntegerField(source="recommendation_id")
    applied = serializers.BooleanField(source="done")
    detail = serializers.SerializerMethodField()

    def get_detail(self, decision) -> str:
        if not decision.done:
            return decision.refusal
        change = decision.price_change
        return f"{change.old_price_tokens} -> {change.new_price_tokens} tokens"


class BulkApplyOutputSerializer(serializers.Serializer):
    """The decisions of one bulk apply, with how many were applied and refused."""

    applied = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BulkApplyResultSerializer(many=True)

    def to_representation(self, decisions):
        applied = sum(decision.done for decision in decisions)
        return {
            "applied": applied,
            "refused": len(decisions) - applied,
            "results": BulkApplyResultSerializer(decisions, many=True).data,
        }
