from rest_framework import serializers

from analytics.models import ModelVersion
from pricing.ml.elasticity import DEMAND_TYPES


class ModelVersionSerializer(serializers.ModelSerializer):
    run_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "version",
            "algorithm",
            "stage",
            "selected",
            "params",
            "features",
            "data_start",
            "data_end",
            "metrics",
            "run_id",
            "created_at",
            "promoted_at",
        ]


class CategoryElasticitySerializer(serializers.Serializer):
    category = serializers.CharField()
    elasticity = serializers.FloatField(
        help_text="Mean d ln Q / d ln P over the category's courses at current prices"
    )
    lower = serializers.FloatField(allow_null=True, help_text="95% interval, lower end")
    upper = serializers.FloatField(allow_null=True, help_text="95% interval, upper end")
    courses = serializers.IntegerField()
    interval = serializers.CharField(help_text="How the interval was computed")
    demand_type = serializers.ChoiceField(choices=DEMAND_TYPES)


class ElasticitiesSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    algorithm = serializers.CharField()
    categories = CategoryElasticitySerializer(many=True)
