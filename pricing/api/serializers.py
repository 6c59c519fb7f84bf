"""Pricing API serializers: explicit input validation and output shapes, nothing else."""

from rest_framework import serializers

from pricing.models import PriceRecommendation, PricingSettings
from tokenecon.models import CourseCategory, Difficulty

MAX_PRICES = 200
MAX_PRICE_TOKENS = 100_000


class OptimizeInputSerializer(serializers.Serializer):
    course_id = serializers.CharField(max_length=16, help_text="Course code, e.g. C00001")
    objective = serializers.ChoiceField(
        choices=PricingSettings.Objective.choices,
        required=False,
        help_text="What to maximise; the admin's setting when omitted",
    )
    current_price = serializers.FloatField(
        required=False,
        min_value=1,
        max_value=MAX_PRICE_TOKENS,
        help_text="Starting price in tokens instead of the course's price today",
    )
    current_enrollments = serializers.FloatField(
        required=False,
        min_value=0.01,
        help_text="Enrollments per 30 days at the starting price; rescales the model's demand level",
    )


class IntervalSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class OptimizeIntervalsSerializer(serializers.Serializer):
    current_enrollments = IntervalSerializer()
    predicted_enrollments = IntervalSerializer()
    revenue_increase_pct = IntervalSerializer()


class OptimizeOutputSerializer(serializers.Serializer):
    course_id = serializers.CharField()
    objective = serializers.CharField()
    current_price = serializers.FloatField()
    current_enrollments = serializers.FloatField(help_text="Expected per 30 days at the current price")
    optimal_price = serializers.FloatField(help_text="Recommended price (guardrails and strategies applied)")
    model_optimal_price = serializers.FloatField(help_text="The model's optimum before strategies")
    price_change_pct = serializers.FloatField()
    predicted_enrollments = serializers.FloatField(help_text="Expected per 30 days at the optimal price")
    enrollment_change_pct = serializers.FloatField()
    current_revenue = serializers.FloatField(help_text="Gross tokens per 30 days")
    optimal_revenue = serializers.FloatField()
    revenue_increase = serializers.FloatField()
    revenue_increase_pct = serializers.FloatField()
    elasticity_coefficient = serializers.FloatField(help_text="Elasticity at the current price")
    demand_type = serializers.ChoiceField(choices=["Elastic", "Inelastic"])
    confidence = serializers.CharField()
    recommendation = serializers.CharField()
    intervals = OptimizeIntervalsSerializer()
    bounds = IntervalSerializer(help_text="Price range the guardrails allowed")
    model_version = serializers.IntegerField()
    model_algorithm = serializers.CharField()


class NewCourseSerializer(serializers.Serializer):
    """A course that is not in the catalog (yet): what the demand model needs to know of it."""

    category = serializers.ChoiceField(choices=CourseCategory.choices)
    difficulty = serializers.ChoiceField(choices=Difficulty.choices)
    duration_hours = serializers.FloatField(min_value=0.5, max_value=1000)
    certificate_offered = serializers.BooleanField()
    teacher_quality = serializers.FloatField(min_value=0, max_value=100, help_text="0-100")
    teacher_years = serializers.FloatField(min_value=0, max_value=80)
    usual_price = serializers.FloatField(
        required=False,
        min_value=1,
        max_value=MAX_PRICE_TOKENS,
        help_text="The price the course is meant to sell at; the category's average when omitted",
    )
    course_age_weeks = serializers.FloatField(
        required=False, min_value=0, max_value=520, help_text="0 (default): just launched"
    )


class PredictInputSerializer(serializers.Serializer):
    course_id = serializers.CharField(
        max_length=16, required=False, help_text="Course code, e.g. C00001 (or give `course`)"
    )
    course = NewCourseSerializer(required=False, help_text="Features of a course not in the catalog")
    prices = serializers.ListField(
        child=serializers.FloatField(),
        allow_empty=False,
        max_length=MAX_PRICES,
        help_text=f"1 to {MAX_PRICES} prices in tokens, each above 0",
    )

    def validate_prices(self, prices: list[float]) -> list[float]:
        errors = {
            index: [f"Ensure this value is greater than 0 and at most {MAX_PRICE_TOKENS}."]
            for index, price in enumerate(prices)
            if not 0 < price <= MAX_PRICE_TOKENS
        }
        if errors:
            raise serializers.ValidationError(errors)
        return prices

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
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000
    )


class BulkApplyResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    applied = serializers.BooleanField()
    detail = serializers.CharField()


class BulkApplyOutputSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BulkApplyResultSerializer(many=True)
