"""Payouts and earnings API.

- ``GET /api/v1/payouts/``: a teacher's own payout requests (staff: everyone's, ``?status=`` and
  ``?teacher=`` filter); ``POST`` (teachers): request a payout of ``amount_tokens`` with an
  ``Idempotency-Key`` header (or ``idempotency_key`` in the body). The same key and amount
  returns the first request (200); the same key with another amount is a 409.
- ``POST /api/v1/payouts/<id>/approve/`` and ``/reject/`` (staff): decide a request once.
- ``GET /api/v1/earnings/``: the teacher's own balances (staff pass ``?teacher=<id>``).

Learners get 403 everywhere; another teacher's request or summary answers 404.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tokenecon.api.fields import AsciiIntegerField, DatabaseIdField
from tokenecon.api.permissions import roles_allowed
from tokenecon.api.schema import LIST_ERRORS
from tokenecon.models import PayoutRequest, PayoutStatus, Teacher
from tokenecon.permissions import is_staff, is_teacher
from tokenecon.services.earnings import teacher_balances
from tokenecon.services.payouts import (
    MAX_CLIENT_KEY,
    MAX_REASON,
    approve_payout,
    minimum_tokens,
    reject_payout,
    request_payout,
    scoped_key,
)
from tokenecon.services.rates import tokens_to_money
from tokenecon.services.statements import next_release


def teacher_param(value: str) -> int:
    """The ``?teacher=`` id, or a 400 naming the parameter."""
    try:
        return DatabaseIdField().run_validation(value)
    except ValidationError as exc:
        raise ValidationError({"teacher": exc.detail}) from None


class PayoutRequestSerializer(serializers.ModelSerializer):
    teacher = serializers.CharField(source="teacher.external_id", read_only=True)
    teacher_id = serializers.IntegerField(read_only=True)
    money_amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = PayoutRequest
        fields = [
            "id",
            "teacher",
            "teacher_id",
            "amount_tokens",
            "money_amount",
            "currency",
            "status",
            "requested_at",
            "decided_at",
            "provider",
            "provider_reference",
            "reason",
        ]
        read_only_fields = fields


class PayoutCreateSerializer(serializers.Serializer):
    amount_tokens = AsciiIntegerField(min_value=1, max_value=2**31 - 1)
    idempotency_key = serializers.CharField(
        max_length=MAX_CLIENT_KEY,
        required=False,
        help_text="The request's key when the Idempotency-Key header is not sent",
    )


class ApproveSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=128, required=False, allow_blank=True, help_text="The payment's reference (optional)"
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_REASON, help_text="Why, for the teacher to read")


class EarningsSerializer(serializers.Serializer):
    teacher_id = serializers.IntegerField()
    teacher = serializers.CharField()
    pending_tokens = serializers.IntegerField()
    available_tokens = serializers.IntegerField()
    held_tokens = serializers.IntegerField()
    paid_out_tokens = serializers.IntegerField()
    earned_tokens = serializers.IntegerField()
    refunded_tokens = serializers.IntegerField()
    identity_holds = serializers.BooleanField(
        help_text="pending + available + held + paid = earned - refunded"
    )
    available_money = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    next_release_at = serializers.DateTimeField(
        allow_null=True, help_text="When the oldest pending share clears"
    )
    minimum_payout_tokens = serializers.IntegerField()
    requested_payouts = serializers.IntegerField()


PAYOUT_ERRORS = {
    400: OpenApiResponse(
        description="Below the minimum, above the available balance, no key, or a bad field"
    ),
    403: OpenApiResponse(description="Learners; staff cannot request a payout for a teacher"),
    409: OpenApiResponse(description="The idempotency key was used with another amount"),
}
KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="A key of yours (at most 100 characters); retrying with it returns the first request",
)


class PayoutListCreateView(generics.ListCreateAPIView):
    """Payout requests: a teacher's own, or every request for staff; teachers create them."""

    permission_classes = [roles_allowed("teacher", "staff")]
    serializer_class = PayoutRequestSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PayoutRequest.objects.none()
        rows = PayoutRequest.objects.select_related("teacher").order_by("-requested_at", "-id")
        user = self.request.user
        if not is_staff(user):
            return rows.filter(teacher__user=user)
        params = self.request.query_params
        if (wanted := params.get("status")) is not None:
            if wanted not in PayoutStatus.values:
                raise ValidationError({"status": [f"One of {', '.join(PayoutStatus.values)}."]})
            rows = rows.filter(status=wanted)
        if (teacher := params.get("teacher")) is not None:
            rows = rows.filter(teacher_id=teacher_param(teacher))
        return rows

    @extend_schema(
        tags=["payouts"],
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=PayoutStatus.values, description="Staff only"),
            OpenApiParameter("teacher", OpenApiTypes.INT, description="A teacher's id (staff only)"),
        ],
        responses={200: PayoutRequestSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["payouts"],
        request=PayoutCreateSerializer,
        parameters=[KEY_HEADER],
        responses={
            201: PayoutRequestSerializer,
            200: OpenApiResponse(PayoutRequestSerializer, description="A retry: the first request"),
            **PAYOUT_ERRORS,
        },
        examples=[OpenApiExample("Request 800 tokens", value={"amount_tokens": 800}, request_only=True)],
    )
    def post(self, request, *args, **kwargs):
        if not is_teacher(request.user):
            raise PermissionDenied("Payouts are requested by teachers themselves.")
        body = PayoutCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or body.validated_data.get("idempotency_key", "")
        if not key.strip():
            raise ValidationError(
                {"idempotency_key": ["Send an Idempotency-Key header (or idempotency_key in the body)."]}
            )
        if len(key) > MAX_CLIENT_KEY:
            raise ValidationError({"idempotency_key": [f"At most {MAX_CLIENT_KEY} characters."]})
        teacher = request.user.teacher
        replay = PayoutRequest.objects.filter(idempotency_key=scoped_key(teacher, key.strip())).exists()
        payout = request_payout(
            teacher=teacher, amount_tokens=body.validated_data["amount_tokens"], idempotency_key=key
        )
        code = status.HTTP_200_OK if replay else status.HTTP_201_CREATED
        return Response(PayoutRequestSerializer(payout).data, status=code)


DECISION_ERRORS = {
    400: OpenApiResponse(description="Already decided the other way, or a bad field"),
    403: OpenApiResponse(description="Not staff"),
    404: OpenApiResponse(description="No such payout request"),
}


class PayoutApproveView(APIView):
    """Approve (pay) a requested payout; approving a paid one again returns it."""

    permission_classes = [roles_allowed("staff")]

    @extend_schema(
        tags=["payouts"],
        request=ApproveSerializer,
        responses={200: PayoutRequestSerializer, **DECISION_ERRORS},
    )
    def post(self, request, pk: int):
        payout = get_object_or_404(PayoutRequest, pk=pk)
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payout = approve_payout(payout, by=request.user, reference=body.validated_data.get("reference", ""))
        return Response(PayoutRequestSerializer(payout).data)


class PayoutRejectView(APIView):
    """Reject a requested payout with a reason; its tokens return to the teacher's available."""

    permission_classes = [roles_allowed("staff")]

    @extend_schema(
        tags=["payouts"],
        request=RejectSerializer,
        responses={200: PayoutRequestSerializer, **DECISION_ERRORS},
    )
    def post(self, request, pk: int):
        payout = get_object_or_404(PayoutRequest, pk=pk)
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payout = reject_payout(payout, by=request.user, reason=body.validated_data["reason"])
        return Response(PayoutRequestSerializer(payout).data)


def earnings_summary(teacher: Teacher) -> dict:
    balances = teacher_balances(teacher)
    return {
        "teacher_id": teacher.pk,
        "teacher": teacher.external_id,
        "pending_tokens": balances.pending,
        "available_tokens": balances.available,
        "held_tokens": balances.held,
        "paid_out_tokens": balances.paid,
        "earned_tokens": balances.earned,
        "refunded_tokens": balances.refunded,
        "identity_holds": balances.identity_holds,
        "available_money": tokens_to_money(balances.available),
        "currency": settings.TOKEN_CURRENCY,
        "next_release_at": next_release(teacher),
        "minimum_payout_tokens": minimum_tokens(),
        "requested_payouts": teacher.payout_requests.filter(status=PayoutStatus.REQUESTED).count(),
    }


class EarningsView(APIView):
    """The teacher's own earnings: pending (inside the refund window), available, held for
    payout, paid out, earned and refunded, from the ledger (what has cleared is released first)."""

    permission_classes = [roles_allowed("teacher", "staff")]

    @extend_schema(
        tags=["payouts"],
        parameters=[OpenApiParameter("teacher", OpenApiTypes.INT, description="A teacher's id (staff)")],
        responses={
            200: EarningsSerializer,
            400: OpenApiResponse(description="Staff without ?teacher=, or a malformed id"),
            403: OpenApiResponse(description="Learners"),
            404: OpenApiResponse(description="No such teacher, or another teacher"),
        },
    )
    def get(self, request):
        wanted = request.query_params.get("teacher")
        teacher_id = None if wanted is None else teacher_param(wanted)
        user = request.user
        if is_teacher(user) and (teacher_id is None or teacher_id == user.teacher.pk):
            teacher = user.teacher
        elif is_staff(user):
            if teacher_id is None:
                raise ValidationError({"teacher": ["Staff name the teacher: ?teacher=<id>."]})
            teacher = get_object_or_404(Teacher, pk=teacher_id)
        else:
            raise Http404("No such teacher.")
        return Response(EarningsSerializer(earnings_summary(teacher)).data)
