from django.urls import include, path
from rest_framework.routers import DefaultRouter

from tokenecon.api import views

router = DefaultRouter()
router.register("courses", views.CourseViewSet, basename="course")

urlpatterns = [
    path("wallet/", views.WalletView.as_view(), name="wallet"),
    path("wallet/transfers/", views.WalletTransfersView.as_view(), name="wallet-transfers"),
    path("", include(router.urls)),
]
