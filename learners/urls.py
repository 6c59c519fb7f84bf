from django.urls import path

from learners import views, views_coupons

app_name = "learners"
urlpatterns = [
    path("", views.learner_home, name="learner_home"),
    path("wallet/", views.wallet, name="wallet"),
    path("courses/", views.catalog, name="catalog"),
    path("courses/<str:code>/", views.course_detail, name="course_detail"),
    path("courses/<str:code>/enroll/", views.enroll, name="enroll"),
    path("offers/", views.offers, name="offers"),
    path("offers/<int:pk>/", views.use_offer, name="use_offer"),
    path("recommended/", views.suggestions, name="recommendations"),
    path("my-courses/", views.my_courses, name="my_courses"),
    path("courses/<str:code>/coupon/", views_coupons.apply_coupon, name="apply_coupon"),
]
# Buying token packs (learners/views_payments.py).
from learners import views_payments  # noqa: E402

urlpatterns += [
    path("wallet/packs/<str:pack>/", views_payments.buy_pack, name="buy_pack"),
    path("wallet/orders/<int:pk>/", views_payments.order_detail, name="order_detail"),
    path("wallet/orders/<int:pk>/pay/", views_payments.pay_order, name="pay_order"),
    path("wallet/orders/<int:pk>/cancel/", views_payments.cancel_pending_order, name="cancel_order"),
]
