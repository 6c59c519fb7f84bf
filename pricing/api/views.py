"""Pricing API: optimise one course, predict enrollments at prices, and list, apply or dismiss the
stored recommendations. Teachers reach their own courses, staff every course, learners none."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from pricing import selectors
from pricing.api.filters import RecommendationFilter
from pricing.api.serializers import (
    ApplyOutputSerializer,
    BulkApplyInputSerializer,
    BulkApplyOutputSerializer,
    OptimizeInputSerializer,
    OptimizeOutputSerializer,
    PredictInputSerializer,
    PredictOutputSerializer,
    RecommendationSerializer,
)
from pricing.models import PriceRecommendation
from pricing.services.forecasts import optimise_course, what_if, what_if_new_course
from pricing.services.model_source import production_demand
from pricing.services.price_changes import apply_recommendation, apply_recommendations, dismiss_recommendation
from tokenecon.api.fields import ensure_finite
from tokenecon.api.permissions import OwnsCourseOrStaff, roles_allowed
from tokenecon.api.schema import LIST_ERRORS
from tokenecon.models import Course

ERROR_RESPONSES = {
    400: OpenApiResponse(description="Invalid input: the offending field (and list index) is named"),
    403: OpenApiResponse(description="Learners and other non-teachers"),
    404: OpenApiResponse(description="No such course, or another teacher's course"),
    409: OpenApiResponse(description="The demand model cannot advise on this course yet"),
    503: OpenApiResponse(description="No demand model in production yet"),
}


class CourseInputView(APIView):
    permission_classes = [OwnsCourseOrStaff]

    def get_course(self, code: str) -> Course:
        # Another teacher's course answers exactly like a missing one.
        course = selectors.courses_visible_to(self.request.user).filter(code=code).first()
        if course is None:
            raise Http404(f"No course {code}.")
        self.check_object_permissions(self.request, course)
        return course


# The optimize inputs that scale its answer; a non-finite answer is blamed on those given.
STARTING_POINT = ("current_price", "current_enrollments")

OPTIMIZE_EXAMPLE = {
    "course_id": "C00001",
    "objective": "revenue",
    "current_price": 120.0,
    "current_enrollments": 14.2,
    "optimal_price": 104.0,
    "model_optimal_price": 104.0,
    "price_change_pct": -13.3,
    "predicted_enrollments": 18.1,
    "enrollment_change_pct": 27.5,
    "current_revenue": 1704.0,
    "optimal_revenue": 1882.4,
    "revenue_increase": 178.4,
    "revenue_increase_pct": 10.5,
    "elasticity_coefficient": -1.8,
    "demand_type": "Elastic",
    "confidence": "medium",
    "recommendation": "Demand is elastic at 120 tokens (elasticity -1.80). "
    "Lower the price 13% to 104 tokens: expected revenue +10.5% (95% interval +4.1% to +17.3%).",
    "intervals": {
        "current_enrollments": {"low": 11.0, "high": 18.3},
        "predicted_enrollments": {"low": 13.6, "high": 24.1},
        "revenue_increase_pct": {"low": 4.1, "high": 17.3},
    },
    "bounds": {"low": 96.0, "high": 144.0},
    "model_version": 3,
    "model_algorithm": "poly2",
}


@extend_schema(
    tags=["pricing"],
    request=OptimizeInputSerializer,
    responses={200: OptimizeOutputSerializer, **ERROR_RESPONSES},
    examples=[
        OpenApiExample(
            "Optimise a course's price",
            request_only=True,
            value={"course_id": "C00001", "objective": "revenue"},
        ),
        OpenApiExample(
            "From another starting point",
            request_only=True,
            value={"course_id": "C00001", "current_price": 120, "current_enrollments": 14.2},
        ),
        OpenApiExample("Recommendation", response_only=True, value=OPTIMIZE_EXAMPLE),
    ],
)
class OptimizeView(CourseInputView):
    """The revenue-maximising price (or the admin's objective) for one course inside the guardrails,
    with the expected change in enrollments and revenue and 95% intervals."""

    def post(self, request):
        data = OptimizeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        optimisation = optimise_course(
            course=self.get_course(params["course_id"]),
            objective=params.get("objective"),
            current_price=params.get("current_price"),
            current_enrollments=params.get("current_enrollments"),
        )
        answer = OptimizeOutputSerializer(optimisation).data
        return Response(
            ensure_finite(answer, blame=[name for name in STARTING_POINT if name in params] or ["course_id"])
        )


@extend_schema(
    tags=["pricing"],
    request=PredictInputSerializer,
    responses={200: PredictOutputSerializer, **ERROR_RESPONSES},
    examples=[
        OpenApiExample(
            "Three prices", request_only=True, value={"course_id": "C00001", "prices": [80, 100, 120]}
        ),
        OpenApiExample(
            "A course not in the catalog yet",
            request_only=True,
            value={
                "course": {
                    "category": "programming",
                    "difficulty": "beginner",
                    "duration_hours": 12,
                    "certificate_offered": True,
                    "teacher_quality": 70,
                    "teacher_years": 5,
                    "usual_price": 100,
                },
                "prices": [80, 100, 120],
            },
        ),
        OpenApiExample(
            "Predictions",
            response_only=True,
            value={
                "course_id": "C00001",
                "current_price": 100,
                "predictions": [
                    {
                        "price": 80.0,
                        "predicted_enrollments": 19.4,
                        "predicted_revenue": 1552.0,
                        "teacher_earnings": 1241.6,
                        "elasticity": -1.7,
                    }
                ],
                "model_version": 3,
                "model_algorithm": "poly2",
            },
        ),
        OpenApiExample(
            "A price that is not positive",
            response_only=True,
            status_codes=["400"],
            value={"prices": {"1": ["Ensure this value is greater than 0 and at most 100000."]}},
        ),
    ],
)
class PredictEnrollmentsView(CourseInputView):
    """Expected enrollments, revenue and teacher earnings per 30 days at each of up to 200 prices,
    for a catalog course (`course_id`) or a course described by its features (`course`)."""

    def post(self, request):
        data = PredictInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prices = data.validated_data["prices"]
        # A catalog course is checked first: an unknown or foreign course is a 404 even with no model.
        course = (
            self.get_course(data.validated_data["course_id"]) if "course_id" in data.validated_data else None
        )
        demand = production_demand()
        if course is None:
            # A course planned, not yet in the catalog: nobody owns it, so teachers may ask.
            curve, usual_price = what_if_new_course(
                features=data.validated_data["course"], prices=prices, demand=demand
            )
            code, current_price = None, usual_price
        else:
            curve = what_if(course=course, prices=prices, demand=demand)
            code, current_price = course.code, course.price_tokens
        payload = {
            "course_id": code,
            "current_price": current_price,
            "predictions": [
                {
                    "price": row.price,
                    "predicted_enrollments": row.expected_enrollments,
                    "predicted_revenue": row.expected_revenue,
                    "teacher_earnings": row.teacher_earnings,
                    "elasticity": row.elasticity,
                }
                for row in curve.itertuples()
            ],
            "model_version": demand.version,
            "model_algorithm": demand.algorithm,
        }
        answer = PredictOutputSerializer(payload).data
        return Response(ensure_finite(answer, blame=["course" if course is None else "prices"]))


@extend_schema(
    tags=["pricing"],
    responses={200: RecommendationSerializer(many=True), **LIST_ERRORS, 403: ERROR_RESPONSES[403]},
)
class RecommendationList(generics.ListAPIView):
    """Stored price recommendations (newest first): a teacher's own courses, or every course for staff."""

    serializer_class = RecommendationSerializer
    permission_classes = [roles_allowed("teacher", "staff")]
    filterset_class = RecommendationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PriceRecommendation.objects.none()
        return selectors.recommendations_visible_to(self.request.user).order_by("-created_at", "-id")


class RecommendationDecisionView(generics.GenericAPIView):
    permission_classes = [OwnsCourseOrStaff]
    serializer_class = RecommendationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PriceRecommendation.objects.none()
        return selectors.recommendations_visible_to(self.request.user)


@extend_schema(
    tags=["pricing"],
    request=None,
    responses={200: ApplyOutputSerializer, **ERROR_RESPONSES},
    examples=[
        OpenApiExample(
            "Applied",
            response_only=True,
            value={
                "recommendation": {"id": 7, "course_id": "C00001", "status": "applied"},
                "price_change": {
                    "id": 31,
                    "old_price_tokens": 120,
                    "new_price_tokens": 104,
                    "effective_at": "2026-03-01T09:30:00Z",
                    "source": "recommendation",
                    "approved_by": "teacher1",
                },
            },
        ),
        OpenApiExample(
            "Already decided",
            response_only=True,
            status_codes=["409"],
            value={"detail": "This recommendation is applied; only pending ones can be applied."},
        ),
    ],
)
class ApplyRecommendationView(RecommendationDecisionView):
    """Set the course's price to the recommended one (within today's guardrails), recording the approver."""

    def post(self, request, pk: int):
        recommendation = self.get_object()
        change = apply_recommendation(recommendation=recommendation, user=request.user)
        recommendation.refresh_from_db()
        payload = {"recommendation": recommendation, "price_change": change}
        return Response(ApplyOutputSerializer(payload).data)


@extend_schema(
    tags=["pricing"],
    request=None,
    responses={200: RecommendationSerializer, **ERROR_RESPONSES},
    examples=[
        OpenApiExample(
            "Dismissed", response_only=True, value={"id": 7, "course_id": "C00001", "status": "dismissed"}
        )
    ],
)
class DismissRecommendationView(RecommendationDecisionView):
    """Keep the current price and mark the advice dismissed."""

    def post(self, request, pk: int):
        recommendation = dismiss_recommendation(recommendation=self.get_object(), user=request.user)
        recommendation = selectors.recommendations_visible_to(request.user).get(pk=recommendation.pk)
        return Response(RecommendationSerializer(recommendation).data)


@extend_schema(
    tags=["pricing"],
    request=BulkApplyInputSerializer,
    responses={200: BulkApplyOutputSerializer, 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403]},
    examples=[
        OpenApiExample("Apply three", request_only=True, value={"ids": [7, 8, 9]}),
        OpenApiExample(
            "Results",
            response_only=True,
            value={
                "applied": 2,
                "refused": 1,
                "results": [
                    {"id": 7, "applied": True, "detail": "120 -> 104 tokens"},
                    {"id": 8, "applied": True, "detail": "60 -> 66 tokens"},
                    {"id": 9, "applied": False, "detail": "This recommendation is dismissed; ..."},
                ],
            },
        ),
    ],
)
class BulkApplyView(APIView):
    """Staff: apply many pending recommendations; each is applied or refused on its own."""

    permission_classes = [roles_allowed("staff")]

    @extend_schema(operation_id="pricing_recommendations_bulk_apply")
    def post(self, request):
        data = BulkApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decisions = apply_recommendations(ids=data.validated_data["ids"], user=request.user)
        return Response(BulkApplyOutputSerializer(decisions).data)
