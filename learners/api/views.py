"""Learner API: propensity scores, course suggestions, offers and personalised prices. A learner
reaches only their own (anyone else's answers 404, like a missing learner); staff reach all."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from learners.api.filters import OfferFilter
from learners.api.serializers import (
    OfferSerializer,
    PersonalizedInputSerializer,
    PersonalizedOutputSerializer,
    PropensitySerializer,
    SuggestionQuerySerializer,
    SuggestionSerializer,
)
from learners.models import LearnerScore, Offer
from learners.services.offer_policy import personal_price
from learners.services.suggestions import suggest_courses
from tokenecon.api.permissions import roles_allowed
from tokenecon.api.schema import LIST_ERRORS
from tokenecon.errors import TokenEconomyError
from tokenecon.models import Learner
from tokenecon.selectors import catalog_courses_visible_to, learners_visible_to

ERRORS = {
    403: OpenApiResponse(description="Neither a learner nor staff"),
    404: OpenApiResponse(description="No such learner, or another learner"),
}


class LearnerScopedMixin:
    permission_classes = [roles_allowed("learner", "staff")]

    def get_learner(self, learner_id: int) -> Learner:
        # Another learner answers exactly like a missing one.
        return get_object_or_404(learners_visible_to(self.request.user), pk=learner_id)


class NotScored(TokenEconomyError):
    status_code = 409


@extend_schema(
    tags=["learners"],
    responses={200: PropensitySerializer, 409: OpenApiResponse(description="Not scored yet"), **ERRORS},
)
class PropensityView(LearnerScopedMixin, APIView):
    """The learner's five scores (enroll in 30 days, churn in 60, complete, upsell, price
    sensitivity), segment and churn risk with their suggested actions, and the model versions."""

    def get(self, request, learner_id: int):
        learner = self.get_learner(learner_id)
        score = LearnerScore.objects.filter(learner=learner).select_related("learner").first()
        if score is None:
            raise NotScored("This learner has not been scored yet: scoring runs after training and nightly.")
        return Response(PropensitySerializer(score).data)


@extend_schema(
    tags=["learners"],
    parameters=[SuggestionQuerySerializer],
    responses={
        200: SuggestionSerializer(many=True),
        400: OpenApiResponse(description="`k` is not a whole number from 1 to 50"),
        **ERRORS,
    },
)
class RecommendationsView(LearnerScopedMixin, APIView):
    """Courses suggested to the learner from content similarity, co-enrollment, popularity and
    trend, never one already taken, each with a short reason."""

    def get(self, request, learner_id: int):
        learner = self.get_learner(learner_id)
        query = SuggestionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        suggestions = suggest_courses(learner=learner, k=query.validated_data["k"])
        return Response(SuggestionSerializer(suggestions, many=True).data)


@extend_schema(tags=["learners"], responses={200: OfferSerializer(many=True), **LIST_ERRORS, **ERRORS})
class OffersView(LearnerScopedMixin, generics.ListAPIView):
    """The learner's offers, newest first (filter by status)."""

    serializer_class = OfferSerializer
    filterset_class = OfferFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no learner
            return Offer.objects.none()
        learner = self.get_learner(self.kwargs["learner_id"])
        return Offer.objects.filter(learner=learner).select_related("course")


@extend_schema(
    tags=["pricing"],
    request=PersonalizedInputSerializer,
    responses={
        200: PersonalizedOutputSerializer,
        400: OpenApiResponse(description="Invalid input"),
        **ERRORS,
    },
    examples=[
        OpenApiExample("Ask", request_only=True, value={"learner_id": 42, "course_id": "C00017"}),
        OpenApiExample(
            "Answer",
            response_only=True,
            value={
                "learner_id": 42,
                "course_id": "C00017",
                "base_price": 120,
                "personalized_price": 108,
                "discount_pct": 10.0,
                "expected_conversion_without_offer": 0.031,
                "expected_conversion_with_offer": 0.039,
                "expected_incremental_tokens": 0.49,
                "reason": "10% off: at this learner's price sensitivity and a course elasticity of -1.90, "
                "the extra chance to buy outweighs the discount.",
                "scores": {"enroll_prob": 0.41, "price_sensitivity": 0.72, "elasticity": -1.9},
            },
        ),
    ],
)
class PersonalizedPriceView(LearnerScopedMixin, APIView):
    """The learner's personal price for a course: the discount the offer policy picks (none when
    it would not raise expected revenue) and the expected conversion with and without it."""

    def post(self, request):
        data = PersonalizedInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        learner = self.get_learner(data.validated_data["learner_id"])
        # A draft of another teacher answers like a missing course, as in the learner portal.
        course = (
            catalog_courses_visible_to(request.user).filter(code=data.validated_data["course_id"]).first()
        )
        if course is None:
            raise Http404(f"No course {data.validated_data['course_id']}.")
        price = personal_price(learner=learner, course=course)
        return Response(
            PersonalizedOutputSerializer(
                {
                    "learner_id": learner.pk,
                    "course_id": course.code,
                    "base_price": price.base_price_tokens,
                    "personalized_price": price.personalized_price_tokens,
                    "discount_pct": price.discount_pct,
                    "expected_conversion_without_offer": price.conversion_without_offer,
                    "expected_conversion_with_offer": price.conversion_with_offer,
                    "expected_incremental_tokens": price.expected_incremental_tokens,
                    "reason": price.reason,
                    "scores": price.scores,
                }
            ).data
        )
