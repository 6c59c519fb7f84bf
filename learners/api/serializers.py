from rest_framework import serializers

from learners.models import LearnerScore, Offer
from tokenecon.api.fields import DatabaseIdField


class PropensitySerializer(serializers.ModelSerializer):
    learner_id = serializers.IntegerField(source="learner.pk")
    segment_action = serializers.SerializerMethodField()
    churn_action = serializers.SerializerMethodField()

    class Meta:
        model = LearnerScore
        fields = [
            "learner_id",
            "scored_at",
            "enroll_prob",
            "churn_prob",
            "complete_prob",
            "upsell_prob",
            "price_sensitivity",
            "segment",
            "segment_action",
            "churn_risk",
            "churn_action",
            "model_versions",
        ]

    def get_segment_action(self, obj) -> dict:
        from learners.segments import SEGMENT_ACTIONS

        return SEGMENT_ACTIONS.get(obj.segment, {})

    def get_churn_action(self, obj) -> str:
        from learners.segments import CHURN_ACTIONS

        return CHURN_ACTIONS.get(obj.churn_risk, "")


K_ERROR = "A whole number from 1 to 50."


class SuggestionQuerySerializer(serializers.Serializer):
    k = serializers.IntegerField(
        min_value=1,
        max_value=50,
        default=10,
        help_text="How many courses (1-50, default 10)",
        error_messages={"invalid": K_ERROR, "min_value": K_ERROR, "max_value": K_ERROR},
    )


class SuggestionSerializer(serializers.Serializer):
    course_id = serializers.CharField(source="course.code")
    title = serializers.CharField(source="course.title")
    category = serializers.CharField(source="course.category")
    difficulty = serializers.CharField(source="course.difficulty")
    price_tokens = serializers.IntegerField(source="course.price_tokens")
    score = serializers.FloatField()
    reason = serializers.CharField()


class OfferSerializer(serializers.ModelSerializer):
    course_id = serializers.CharField(source="course.code", allow_null=True, default=None)
    course_title = serializers.CharField(source="course.title", allow_null=True, default=None)

    class Meta:
        model = Offer
        fields = [
            "id",
            "course_id",
            "course_title",
            "category",
            "discount_pct",
            "reason",
            "channel",
            "policy",
            "expected_incremental_tokens",
            "created_at",
            "expires_at",
            "status",
        ]


class PersonalizedInputSerializer(serializers.Serializer):
    learner_id = DatabaseIdField()
    course_id = serializers.CharField(
        max_length=16, min_length=1, help_text="The course's public code, e.g. C00001"
    )


class PersonalizedOutputSerializer(serializers.Serializer):
    learner_id = serializers.IntegerField()
    course_id = serializers.CharField()
    base_price = serializers.IntegerField()
    personalized_price = serializers.IntegerField()
    discount_pct = serializers.FloatField()
    expected_conversion_without_offer = serializers.FloatField()
    expected_conversion_with_offer = serializers.FloatField()
    expected_incremental_tokens = serializers.FloatField()
    reason = serializers.CharField()
    scores = serializers.DictField()
