from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, viewsets
from rest_framework.response import Response

from tokenecon import selectors
from tokenecon.api.filters import CourseFilter, WalletEntryFilter
from tokenecon.api.schema import LIST_ERRORS
from tokenecon.api.serializers import AccountSerializer, CourseSerializer, WalletEntrySerializer
from tokenecon.models import Account, Entry


@extend_schema(tags=["catalog"])
@extend_schema_view(
    list=extend_schema(responses={200: CourseSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(
        responses={
            200: CourseSerializer,
            404: OpenApiResponse(description="No such course, or not published"),
        }
    ),
)
class CourseViewSet(viewsets.ReadOnlyModelViewSet):
    """The course catalog, filterable by category, teacher and price range."""

    serializer_class = CourseSerializer
    filterset_class = CourseFilter
    lookup_field = "code"

    def get_queryset(self):
        return selectors.catalog_courses_visible_to(self.request.user)


@extend_schema(
    tags=["wallet"],
    responses=AccountSerializer(many=True),
    examples=[
        OpenApiExample(
            "A learner's wallet",
            value=[{"id": 12, "kind": "learner_wallet", "balance_tokens": 450, "balance_money": "45.00"}],
            response_only=True,
        )
    ],
)
class WalletView(generics.GenericAPIView):
    """The caller's own token accounts (a learner's wallet, a teacher's earnings) with balances."""

    serializer_class = AccountSerializer
    pagination_class = None
    queryset = Account.objects.none()

    def get(self, request):
        accounts = selectors.accounts_of_user(request.user)
        return Response(self.get_serializer(accounts, many=True).data)


@extend_schema(tags=["wallet"], responses={200: WalletEntrySerializer(many=True), **LIST_ERRORS})
class WalletTransfersView(generics.ListAPIView):
    """Every transfer that touched the caller's accounts, newest first, with the signed amount."""

    serializer_class = WalletEntrySerializer
    filterset_class = WalletEntryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Entry.objects.none()
        return selectors.entries_of_user(self.request.user)
