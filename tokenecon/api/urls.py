from django.urls import include, path
from rest_framework.routers import DefaultRouter

from tokenecon.api import coupons, views

router = DefaultRouter()
router.register("courses", views.CourseViewSet, basename="course")

urlpatterns = [
    path("wallet/", views.WalletView.as_view(), name="wallet"),
    path("wallet/transfers/", views.WalletTransfersView.as_view(), name="wallet-transfers"),
    path("", include(router.urls)),
    path("coupons/", coupons.CouponListView.as_view(), name="coupons"),
    path("coupons/validate/", coupons.ValidateCouponView.as_view(), name="coupons-validate"),
    path("coupons/<int:pk>/", coupons.CouponDetailView.as_view(), name="coupon-detail"),
]
