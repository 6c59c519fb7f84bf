import math

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.api.serializers import ElasticitiesSerializer, ModelVersionSerializer
from analytics.services.registry import NoProductionModel, load_production_model
from pricing.ml.elasticity import demand_type
from tokenecon.api.permissions import roles_allowed
from tokenecon.api.schema import LIST_ERRORS


@extend_schema(tags=["models"], responses={200: ModelVersionSerializer(many=True), **LIST_ERRORS})
class ModelVersionList(generics.ListAPIView):
    """Every registered model version with its metrics, filterable by name, stage and algorithm."""

    serializer_class = ModelVersionSerializer
    permission_classes = [roles_allowed("staff")]
    filterset_fields = ["name", "stage", "algorithm"]

    def get_queryset(self):
        return selectors.model_versions()


def _clean(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


@extend_schema(
    tags=["models"],
    responses={
        200: ElasticitiesSerializer,
        404: OpenApiResponse(description="No such model in production, or one without elasticities"),
    },
    examples=[
        OpenApiExample(
            "Demand elasticities",
            response_only=True,
            value={
                "model": "demand",
                "version": 7,
                "algorithm": "poly2",
                "categories": [
                    {
                        "category": "programming",
                        "elasticity": -0.62,
                        "lower": -0.71,
                        "upper": -0.53,
                        "courses": 210,
                        "interval": "delta method, course-clustered",
                        "demand_type": "Inelastic",
                    }
                ],
            },
        )
    ],
)
class CategoryElasticities(APIView):
    """Per-category price elasticities of the production model, with 95% intervals."""

    permission_classes = [roles_allowed("teacher", "staff")]

    def get(self, request, name: str):
        try:
            version, artifact = load_production_model(name)
        except NoProductionModel as exc:
            raise NotFound(str(exc)) from exc
        table = getattr(artifact, "category_elasticities", None)
        if table is None:
            raise NotFound(f"The {name} model has no price elasticities.")
        categories = [
            {
                "category": row["category"],
                "elasticity": float(row["elasticity"]),
                "lower": _clean(row["lower"]),
                "upper": _clean(row["upper"]),
                "courses": int(row["courses"]),
                "interval": row["interval"],
                "demand_type": demand_type(row["elasticity"]),
            }
            for row in table.to_dict(orient="records")
        ]
        payload = {
            "model": name,
            "version": version.version,
            "algorithm": version.algorithm,
            "categories": categories,
        }
        return Response(ElasticitiesSerializer(payload).data)
