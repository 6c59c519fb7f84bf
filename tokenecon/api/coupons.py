"""Coupons API: teachers list, create and deactivate the coupons of their own courses (one course
or all of them, teacher-funded), staff every coupon; learners check a code on a course
(``POST /api/v1/coupons/validate/``): the price, or a 400 with the reason. The rules are the
coupon service's; a coupon is never deleted (DELETE deactivates it)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tokenecon.api.permissions import roles_allowed
from tokenecon.api.schema import LIST_ERRORS
from tokenecon.errors import CouponInvalid
from tokenecon.models import Coupon, CouponFunder, CouponKind, CouponScope, Course, CourseCategory, Teacher
from tokenecon.services.coupons import (
    EDITABLE,
    coupon_status,
    coupons_visible_to,
    create_coupon,
    deactivate_coupon,
    normalise_code,
    quote_coupon,
    update_coupon,
    validate_coupon_fields,
)

# --- serializers -----------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(percent|fixed)$",
        "description": "`percent` (takes `percent_off`) or `fixed` (takes `tokens_off`)",
    }
)
class CouponKindField(serializers.ChoiceField):
    """Documented as a pattern: a "kind" enum would collide with the ledger's kinds of the same name."""

    def __init__(self, **kwargs):
        super().__init__(choices=CouponKind.choices, **kwargs)


class CouponSerializer(serializers.ModelSerializer):
    course = serializers.CharField(source="course.code", allow_null=True, read_only=True, default=None)
    teacher = serializers.CharField(
        source="teacher.external_id", allow_null=True, read_only=True, default=None
    )
    kind = CouponKindField(read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "kind",
            "percent_off",
            "tokens_off",
            "scope",
            "course",
            "teacher",
            "category",
            "funded_by",
            "valid_from",
            "valid_until",
            "max_uses",
            "max_uses_per_learner",
            "uses_count",
            "is_active",
            "status",
            "created_at",
        ]
        read_only_fields = fields

    def get_status(self, coupon: Coupon) -> str:
        return coupon_status(coupon)


class CouponCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    kind = CouponKindField(default=CouponKind.PERCENT)
    percent_off = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    tokens_off = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10**9)
    scope = serializers.ChoiceField(choices=CouponScope.choices, default=CouponScope.COURSE)
    course = serializers.SlugRelatedField(
        slug_field="code", queryset=Course.objects.all(), required=False, allow_null=True
    )
    teacher = serializers.SlugRelatedField(
        slug_field="external_id", queryset=Teacher.objects.all(), required=False, allow_null=True
    )
    category = serializers.ChoiceField(choices=CourseCategory.choices, required=False, allow_blank=True)
    funded_by = serializers.ChoiceField(choices=CouponFunder.choices, required=False)
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_until = serializers.DateTimeField(required=False, allow_null=True)
    max_uses = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10**9)
    max_uses_per_learner = serializers.IntegerField(required=False, min_value=1, max_value=10**6, default=1)

    def validate(self, attrs):
        errors = validate_coupon_fields(attrs, by=self.context["request"].user)
        if errors:
            raise serializers.ValidationError({name: [message] for name, message in errors.items()})
        return attrs


class CouponUpdateSerializer(serializers.Serializer):
    is_active = serializers.BooleanField(required=False)
    valid_until = serializers.DateTimeField(required=False, allow_null=True)
    max_uses = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10**9)
    max_uses_per_learner = serializers.IntegerField(required=False, min_value=1, max_value=10**6)

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            fixed = sorted(set(data.keys()) - set(EDITABLE))
            if fixed:
                raise serializers.ValidationError(
                    {name: ["This cannot change once created; create a new coupon."] for name in fixed}
                )
        return super().to_internal_value(data)


class ValidateInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64, trim_whitespace=True)
    course = serializers.CharField(max_length=16)


class QuoteSerializer(serializers.Serializer):
    code = serializers.CharField()
    course = serializers.CharField()
    list_price_tokens = serializers.IntegerField()
    price_tokens = serializers.IntegerField()
    discount_tokens = serializers.IntegerField()
    discount_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    funded_by = serializers.CharField()


class CouponFilter(django_filters.FilterSet):
    course = django_filters.CharFilter(field_name="course__code", label="Course code")

    class Meta:
        model = Coupon
        fields = ["is_active", "scope", "funded_by", "course"]


# --- views -----------------------------------------------------------------------------------------

COUPON_EXAMPLE = {
    "id": 7,
    "code": "SPRING25",
    "kind": "percent",
    "percent_off": "25.00",
    "tokens_off": None,
    "scope": "course",
    "course": "C00001",
    "teacher": None,
    "category": "",
    "funded_by": "teacher",
    "valid_from": None,
    "valid_until": "2027-04-01T00:00:00Z",
    "max_uses": 100,
    "max_uses_per_learner": 1,
    "uses_count": 12,
    "is_active": True,
    "status": "active",
    "created_at": "2027-03-01T09:00:00Z",
}
TEACHERS_AND_STAFF = roles_allowed("teacher", "staff")


def _invalid(exc: CouponInvalid) -> Response:
    return Response(
        {name: [message] for name, message in exc.errors.items()}, status=status.HTTP_400_BAD_REQUEST
    )


@extend_schema(tags=["coupons"])
@extend_schema_view(
    get=extend_schema(responses={200: CouponSerializer(many=True), **LIST_ERRORS}),
    post=extend_schema(
        request=CouponCreateSerializer,
        responses={
            201: CouponSerializer,
            400: OpenApiResponse(
                description="A broken rule, by field: code taken or malformed, percentage not in (0, 100], "
                "tokens off not positive, validity ending before it starts, another teacher's course, "
                "a teacher asking for a platform-funded or category/everything coupon"
            ),
        },
        examples=[
            OpenApiExample(
                "A teacher's 25% coupon on one course",
                request_only=True,
                value={
                    "code": "spring25",
                    "kind": "percent",
                    "percent_off": 25,
                    "course": "C00001",
                    "max_uses": 100,
                },
            ),
            OpenApiExample(
                "30 tokens off all of the teacher's courses",
                request_only=True,
                value={"code": "THIRTY", "kind": "fixed", "tokens_off": 30, "scope": "teacher"},
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=COUPON_EXAMPLE),
            OpenApiExample(
                "Another teacher's course",
                response_only=True,
                status_codes=["400"],
                value={"course": ["C00002 is not one of your courses."]},
            ),
        ],
    ),
)
class CouponListView(generics.ListCreateAPIView):
    """Teachers: the coupons of their own courses; staff: every coupon. POST creates one (a
    teacher's is teacher-funded, for one of their courses or all of them)."""

    permission_classes = [TEACHERS_AND_STAFF]
    serializer_class = CouponSerializer
    filterset_class = CouponFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Coupon.objects.none()
        return coupons_visible_to(self.request.user).order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        data = CouponCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        try:
            coupon = create_coupon(by=request.user, **data.validated_data)
        except CouponInvalid as exc:
            return _invalid(exc)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["coupons"])
@extend_schema_view(
    get=extend_schema(
        responses={200: CouponSerializer, 404: OpenApiResponse(description="No such coupon, or not yours")}
    ),
    patch=extend_schema(
        request=CouponUpdateSerializer,
        responses={
            200: CouponSerializer,
            400: OpenApiResponse(description="A field that cannot change, or a cap below the uses made"),
            404: OpenApiResponse(description="No such coupon, or not yours"),
        },
        examples=[
            OpenApiExample("Deactivate", request_only=True, value={"is_active": False}),
            OpenApiExample("Raise the cap", request_only=True, value={"max_uses": 200}),
        ],
    ),
    delete=extend_schema(
        responses={
            200: OpenApiResponse(CouponSerializer, description="Deactivated (a coupon is never deleted)"),
            404: OpenApiResponse(description="No such coupon, or not yours"),
        }
    ),
)
class CouponDetailView(generics.GenericAPIView):
    """One coupon. PATCH changes what may change (active, end of validity, caps); DELETE
    deactivates it: redemptions stand and keep referring to it."""

    permission_classes = [TEACHERS_AND_STAFF]
    serializer_class = CouponSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Coupon.objects.none()
        return coupons_visible_to(self.request.user)

    def get(self, request, pk: int):
        return Response(CouponSerializer(self.get_object()).data)

    def patch(self, request, pk: int):
        coupon = self.get_object()
        data = CouponUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            coupon = update_coupon(coupon=coupon, by=request.user, **data.validated_data)
        except CouponInvalid as exc:
            return _invalid(exc)
        return Response(CouponSerializer(coupon).data)

    def delete(self, request, pk: int):
        coupon = deactivate_coupon(coupon=self.get_object(), by=request.user)
        return Response(CouponSerializer(coupon).data)


@extend_schema(
    tags=["coupons"],
    request=ValidateInputSerializer,
    responses={
        200: QuoteSerializer,
        400: OpenApiResponse(
            description="Why the code cannot be used: unknown, inactive, not yet valid, expired, used up, "
            "this learner's cap reached, another course/teacher/category, course not on sale; "
            "or no such course"
        ),
    },
    examples=[
        OpenApiExample("Check a code", request_only=True, value={"code": "spring25", "course": "C00001"}),
        OpenApiExample(
            "The price with it",
            response_only=True,
            value={
                "code": "SPRING25",
                "course": "C00001",
                "list_price_tokens": 120,
                "price_tokens": 90,
                "discount_tokens": 30,
                "discount_pct": "25.00",
                "funded_by": "teacher",
            },
        ),
        OpenApiExample(
            "Refused",
            response_only=True,
            status_codes=["400"],
            value={"detail": "Coupon SPRING25 expired on 1 Apr 2027."},
        ),
    ],
)
class ValidateCouponView(APIView):
    """A learner's check of a code on a course before buying: the price it gives, or the reason it
    cannot be used (400). Nothing is taken: the use is taken when the course is bought."""

    permission_classes = [roles_allowed("learner")]

    def post(self, request):
        data = ValidateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["course"]
        course = Course.objects.filter(code=code, status=Course.Status.PUBLISHED).first()
        if course is None:
            return Response({"course": [f"No course {code} on sale."]}, status=status.HTTP_400_BAD_REQUEST)
        quote = quote_coupon(
            code=normalise_code(data.validated_data["code"]), course=course, learner=request.user.learner
        )
        payload = {
            "code": quote.code,
            "course": course.code,
            "list_price_tokens": quote.list_price_tokens,
            "price_tokens": quote.price_tokens,
            "discount_tokens": quote.discount_tokens,
            "discount_pct": quote.discount_pct,
            "funded_by": quote.funded_by,
        }
        return Response(QuoteSerializer(payload).data)
