"""``POST /api/v1/enrollments/<id>/refund/``: a learner refunds their own enrollment under the
learner rules (inside the window, below the progress threshold); staff refund any enrollment by
the staff rules (``tokenecon.services.refunds``). Another learner's enrollment answers 404, like
a missing one; a retry returns the first refund (200), not a second one."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tokenecon.api.permissions import roles_allowed
from tokenecon.models import Enrollment, Entry, Transfer
from tokenecon.permissions import is_staff
from tokenecon.services.refunds import learner_refund, staff_refund


class RefundInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Staff: why")


class RefundSerializer(serializers.Serializer):
    enrollment_id = serializers.IntegerField()
    transfer_key = serializers.CharField(help_text="Idempotency key of the refund transfer")
    refunded_tokens = serializers.IntegerField(
        help_text="Tokens back in the learner's wallet (what was paid)"
    )
    from_teacher_pending = serializers.IntegerField()
    from_teacher_available = serializers.IntegerField()
    from_platform_treasury = serializers.IntegerField(
        help_text="The part of the teacher's share the platform covers (staff refund after the release)"
    )
    commission_returned = serializers.IntegerField()
    status = serializers.CharField()


def refund_summary(enrollment: Enrollment, refund: Transfer) -> dict:
    by_kind: dict[str, int] = {}
    for kind, amount in Entry.objects.filter(transfer=refund).values_list("account__kind", "amount_tokens"):
        by_kind[kind] = by_kind.get(kind, 0) + amount
    return {
        "enrollment_id": enrollment.pk,
        "transfer_key": refund.idempotency_key,
        "refunded_tokens": by_kind.get("learner_wallet", 0),
        "from_teacher_pending": -by_kind.get("teacher_pending", 0),
        "from_teacher_available": -by_kind.get("teacher_earnings", 0),
        "from_platform_treasury": max(0, -by_kind.get("platform_treasury", 0)),
        "commission_returned": -by_kind.get("platform_revenue", 0),
        "status": "refunded",
    }


@extend_schema(
    tags=["learners"],
    summary="Refund an enrollment",
    description=(
        "A learner refunds their own enrollment within "
        f"{settings.TOKEN_REFUND_WINDOW_DAYS} days of the purchase while their progress is below "
        f"{settings.TOKEN_REFUND_MAX_PROGRESS_PCT}%; they get back what they paid. Staff may refund "
        "any enrollment at any time: after the refund window the teacher's share comes from their "
        "available balance as far as it goes, never below zero, and the rest from the platform."
    ),
    request=RefundInputSerializer,
    responses={
        200: RefundSerializer,
        400: OpenApiResponse(description="Refused by the policy: the window ended, or progress too high"),
        403: OpenApiResponse(description="Neither a learner nor staff"),
        404: OpenApiResponse(description="No such enrollment, or another learner's"),
        409: OpenApiResponse(description="Already refunded, or nothing was paid"),
    },
    examples=[
        OpenApiExample(
            "Refused after the window",
            value={"detail": "The 14-day refund window ended on 15 March 2026."},
            response_only=True,
            status_codes=["400"],
        )
    ],
)
class EnrollmentRefundView(APIView):
    permission_classes = [roles_allowed("learner", "staff")]

    def post(self, request, enrollment_id: int):
        body = RefundInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if is_staff(request.user):
            enrollment = get_object_or_404(Enrollment, pk=enrollment_id)
            refund = staff_refund(
                enrollment=enrollment,
                idempotency_key=f"staff-refund:{enrollment.pk}",
                reason=body.validated_data.get("reason") or f"Refunded by {request.user.username} (API)",
            )
        else:
            # Another learner's enrollment answers exactly like a missing one.
            enrollment = get_object_or_404(Enrollment, pk=enrollment_id, learner__user=request.user)
            refund = learner_refund(learner=enrollment.learner, enrollment=enrollment)
        return Response(RefundSerializer(refund_summary(enrollment, refund)).data)
